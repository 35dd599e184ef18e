"""The webhook receiver: a small WSGI app that checks, queues and answers at once.

`POST <path>` with a signed JSON body. In order: a body over `max_body_bytes` is refused
unread (413); a bad or missing signature 401; no `X-Vobiz-Request-ID` 400; an unreadable body
or an unknown event 400; an event time outside the window 400 (stale); a request id already
received within the window is answered 200 `duplicate` and not queued (a trunk retrying a
delivery it thinks failed gets its success; a replay gets nothing processed); a full queue 503
(the trunk retries later). Anything else is queued and answered 202 before it is processed:
the poll loop drains the queue (`drain`) and is woken at once (`wait`), so a slow detector never
slows the trunk and the trunk never waits on detection. Every outcome is counted
(`cdr_detector_webhook_requests_total{outcome}`).

Webhooks are an early copy, never the source of truth: the poller still reads every CDR, so a
webhook that is lost, late, forged (refused) or duplicated changes when a call is seen, never
whether or how often it is counted (`detector.webhooks.merge`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from detector.webhooks.events import Event, parse
from detector.webhooks.signature import Refused, ReplayGuard, fresh, signature_ok

OUTCOMES = (
    "accepted", "duplicate", "bad_signature", "stale", "too_large", "malformed",
    "unknown_event", "no_request_id", "queue_full", "wrong_method",
)  # fmt: skip
"""Every value of the `outcome` label."""


@dataclass(frozen=True, slots=True)
class Received:
    """A queued event and the receiver's clock when it arrived (for latency)."""

    event: Event
    at: float


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """How the receiver checks requests (see `config.WebhookIngestSettings`)."""

    path: str = "/webhooks/vobiz"
    signature_header: str = "X-Vobiz-Signature"
    timestamp_header: str = "X-Vobiz-Timestamp"
    window_s: float = 300.0
    max_body_bytes: int = 65_536
    max_queue: int = 10_000


class WebhookIngest:
    """Receives trunk webhooks for the poll loop (a WSGI app: `__call__`)."""

    def __init__(
        self,
        secret: bytes,
        settings: WebhookSettings = WebhookSettings(),
        *,
        count: Callable[[str], None] = lambda _outcome: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret, self.settings, self.count, self.clock = secret, settings, count, clock
        self.replays = ReplayGuard(settings.window_s)
        self._queue: deque[Received] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._signature = _environ_key(settings.signature_header)
        self._timestamp = _environ_key(settings.timestamp_header)

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        """Check, queue and answer one request."""
        code, body = self._handle(environ)
        data = json.dumps(body).encode()
        start(f"{code} {_REASONS[code]}", [("Content-Type", "application/json"),
                                            ("Content-Length", str(len(data)))])  # fmt: skip
        return [data]

    def _handle(self, environ: dict[str, Any]) -> tuple[int, dict[str, str]]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self._outcome("wrong_method", 405, "send webhooks with POST")
        try:
            return self._accept(environ)
        except Refused as refused:
            code = {"bad_signature": 401, "too_large": 413}.get(refused.reason, 400)
            return self._outcome(refused.reason, code, refused.detail)

    def _accept(self, environ: dict[str, Any]) -> tuple[int, dict[str, str]]:
        body = _read(environ, self.settings.max_body_bytes)
        if not signature_ok(self.secret, body, str(environ.get(self._signature, ""))):
            raise Refused("bad_signature", f"missing or wrong {self.settings.signature_header}")
        request_id = str(environ.get("HTTP_X_VOBIZ_REQUEST_ID", "")).strip()[:200]
        if not request_id:
            raise Refused("no_request_id", "X-Vobiz-Request-ID is required")
        event = parse(body, environ.get(self._timestamp))
        now = self.clock()
        fresh(event.at, now, self.settings.window_s)
        with self._lock:
            try:
                self.replays.check(request_id, now)
            except Refused:
                return self._outcome("duplicate", 200, "already received")
            if len(self._queue) >= self.settings.max_queue:
                return self._outcome("queue_full", 503, "the receiver is busy: retry")
            self._queue.append(Received(event, now))
        self._ready.set()
        return self._outcome("accepted", 202, "queued")

    def _outcome(self, outcome: str, code: int, detail: str) -> tuple[int, dict[str, str]]:
        self.count(outcome)
        return code, {"status": outcome, "detail": detail}

    def drain(self) -> list[Received]:
        """Every queued event, oldest first; the queue is left empty."""
        with self._lock:
            events, self._queue = list(self._queue), deque()
            self._ready.clear()
        return events

    def wait(self, timeout: float) -> bool:
        """Block until an event is queued or `timeout` passes; True when events are queued."""
        return self._ready.wait(timeout)


def _read(environ: dict[str, Any], cap: int) -> bytes:
    """The request body, refused unread when it is (or turns out) larger than `cap`."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise Refused("too_large", f"the body is over {cap:,} bytes")
    body = environ["wsgi.input"].read(
        min(int(declared), cap + 1) if declared.isdigit() else cap + 1
    )
    if len(body) > cap:
        raise Refused("too_large", f"the body is over {cap:,} bytes")
    return bytes(body)


def _environ_key(header: str) -> str:
    """The WSGI environ key of an HTTP header."""
    return "HTTP_" + header.upper().replace("-", "_")


_REASONS = {
    200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed",
    413: "Payload Too Large", 503: "Service Unavailable",
}  # fmt: skip
