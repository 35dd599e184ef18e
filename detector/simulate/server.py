"""The fake Vobiz partner API: serves generated traffic as simulated time lets it appear."""

from __future__ import annotations

import hmac
import json
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from detector.simulate import responses
from detector.simulate.chaos import ChaosGate, Fault
from detector.simulate.clock import SimClock
from detector.simulate.feed import Feed
from detector.simulate.filters import BadRequest, paging, parse_query
from detector.simulate.hooks import HookSender
from detector.simulate.options import SimOptions
from detector.simulate.traffic import Traffic, generate, write_labels_jsonl, write_mispriced_jsonl

PREFIX = "/api/v1/partner"
_ACCOUNT_CDRS = re.compile(rf"^{PREFIX}/accounts/([^/]+)/cdrs(?:/([^/]+))?$")


class SimulatorServer:
    """A ThreadingHTTPServer on a background thread serving `traffic` in simulated time."""

    def __init__(
        self, traffic: Traffic, options: SimOptions, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Sim time starts at `options.start` now and runs `options.speed` times `clock`."""
        self.traffic = traffic
        self.options = options
        self.feed = Feed(traffic)
        self.chaos = ChaosGate(traffic.chaos, options.seed, clock)
        self._clock = SimClock(options.start, options.speed, clock)
        self._accounts = {a.auth_id for a in traffic.accounts}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def sim_now(self) -> datetime:
        """The current simulated time."""
        return self._clock.now()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on host:port (0 = any free port) and return the bound address."""
        handler = type("Handler", (_Handler,), {"sim": self})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        bound_host, bound_port = self._httpd.server_address[:2]
        return str(bound_host), int(bound_port)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stats(self) -> dict[str, object]:
        """What `/_sim/stats` answers: sim time, visible rows, distinct calls, total, final."""
        now = self.refresh()
        return {
            "sim_time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "visible": self.feed.visible,
            "calls": self.feed.calls,
            "total": self.feed.total,
            "final": now >= self.traffic.final_at,
        }

    def refresh(self) -> datetime:
        """Release the rows that became visible by now; return sim now."""
        now = self.sim_now()
        self.feed.advance(now.timestamp())
        return now

    def in_outage(self) -> bool:
        """True while sim time is within one of the chaos outages."""
        elapsed = self.sim_now() - self.options.start
        return any(o.start <= elapsed < o.start + o.duration for o in self.traffic.chaos.outages)

    def authorised(self, auth_id: str | None, token: str | None) -> bool:
        """True when the headers carry the partner's id and token."""
        return auth_id == self.options.auth_id and hmac.compare_digest(
            (token or "").encode(), self.options.auth_token.encode()
        )

    def has_account(self, auth_id: str) -> bool:
        """True when `auth_id` is one of the simulated customers."""
        return auth_id in self._accounts


class _Handler(BaseHTTPRequestHandler):
    """Routes one request; `sim` is bound to the SimulatorServer by `start`."""

    sim: SimulatorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid 40 ms stalls

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: request lines would flood the demo's terminal."""

    def do_GET(self) -> None:
        """Answer a GET."""
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path == "/_sim/stats":
            self._send(200, self.sim.stats())
            return
        if not parts.path.startswith(PREFIX):
            self._error(404, "NOT_FOUND", f"no route {parts.path}")
            return
        if not self.sim.authorised(self.headers.get("X-Auth-ID"), self.headers.get("X-Auth-Token")):
            self._error(401, "UNAUTHORIZED", "invalid X-Auth-ID or X-Auth-Token")
            return
        if self.sim.in_outage():
            self._error(503, "SERVICE_UNAVAILABLE", "simulated outage")
            return
        fault = self.sim.chaos.fault()
        if fault is not None:
            self._fault(fault)
            return
        try:
            self._route(parts.path, params)
        except BadRequest as exc:
            self._error(400, "BAD_REQUEST", str(exc))

    def _route(self, path: str, params: dict[str, str]) -> None:
        """Dispatch an authorised API path."""
        sim = self.sim
        if path == f"{PREFIX}/me":
            self._send(200, responses.me(sim.options))
        elif path == f"{PREFIX}/accounts":
            self._send(200, responses.accounts(sim.traffic.accounts, params))
        elif path == f"{PREFIX}/cdrs":
            self._list(params, None)
        elif (match := _ACCOUNT_CDRS.match(path)) and sim.has_account(match.group(1)):
            if match.group(2):
                self._one(match.group(1), match.group(2))
            else:
                self._list(params, match.group(1))
        else:
            self._error(404, "NOT_FOUND", "no such account or route")

    def _list(self, params: dict[str, str], account: str | None) -> None:
        """A page of CDRs in the configured shape."""
        sim = self.sim
        sim.refresh()
        page, per_page = paging(params)
        query = parse_query(params, sim.options.shape, account)
        oldest = sim.traffic.chaos.sort == "oldest"
        rows, total = sim.feed.page(query, page, per_page, oldest_first=oldest)
        rows = sim.chaos.shuffle([responses.public(r) for r in rows])
        body = responses.cdr_page(
            sim.options.shape, rows, page=page, per_page=per_page, total=total, account=account
        )
        self._send(200, body, damage=True)

    def _one(self, account: str, call_id: str) -> None:
        """One visible call by id, or 404."""
        self.sim.refresh()
        row = self.sim.feed.find(account, call_id)
        if row is None:
            self._error(404, "NOT_FOUND", "no such call")
        elif self.sim.options.shape == "a":
            self._send(200, responses.detail(row))
        else:
            self._send(200, {"success": True, "data": responses.detail(row)})

    def _fault(self, fault: Fault) -> None:
        """Answer with an injected error."""
        headers = {}
        details: dict[str, object] = {}
        if fault.retry_after_s is not None:
            headers["Retry-After"] = str(int(fault.retry_after_s))
            details["retryAfter"] = fault.retry_after_s
        code = "RATE_LIMIT_EXCEEDED" if fault.status == 429 else "SERVER_ERROR"
        self._error(fault.status, code, "injected fault", details, headers)

    def _error(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The documented error body."""
        body = {
            "status": "error",
            "error": {"code": code, "message": message, "details": details or {}},
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "requestId": str(uuid.uuid4()),
        }
        self._send(status, body, headers=headers)

    def _send(
        self,
        status: int,
        body: object,
        *,
        damage: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Write a JSON response (possibly damaged by chaos)."""
        data = json.dumps(body, separators=(",", ":")).encode()
        if damage:
            data = self.sim.chaos.damage(data)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def serve_forever(
    options: SimOptions,
    host: str,
    port: int,
    labels_out: Path | None,
    mispriced_out: Path | None = None,
    traffic: Traffic | None = None,
    webhook_url: str | None = None,
    webhook_secret: bytes = b"",
) -> None:
    """Generate traffic (unless given), write labels, serve until Ctrl-C or SIGTERM, then stop;
    with `webhook_url`, also post the trunks' signed webhooks there (`simulate.hooks`)."""
    if traffic is None:
        traffic = generate(options)
    if labels_out is not None:
        write_labels_jsonl(traffic.labels, labels_out)
    if mispriced_out is not None:
        write_mispriced_jsonl(traffic.mispriced, mispriced_out)
    server = SimulatorServer(traffic, options)
    bound_host, bound_port = server.start(host, port)
    sender = None
    if webhook_url:
        sender = HookSender(
            traffic, webhook_url, webhook_secret, lambda: server.sim_now().timestamp(),
            traffic.chaos.webhooks, options.seed,
        )  # fmt: skip
        sender.start()
    sys.stderr.write(
        f"simulator: http://{bound_host}:{bound_port}{PREFIX} · {len(traffic.accounts)} accounts · "
        f"{len(traffic.rows)} calls · {len(traffic.labels)} incidents · speed {options.speed}x\n"
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if sender is not None:
            sender.stop()
        server.stop()
