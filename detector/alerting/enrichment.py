"""Enrichment: a few calls of each new alert fetched from the single-call endpoint, on the side.

When an alert first fires, the notification stage hands it to the `Enricher` (never waiting:
a full queue just skips it, counted). The enricher's thread fetches up to `calls` of the
alert's sample call ids (`GET /accounts/{account}/cdrs/{call_id}`) at `rate_per_s`, and keeps
each call's hangup cause and SIP code with their meanings. A notice built later (when the
group is sent, typically after `group_wait`) shows what has arrived by then; a fetch that
fails or comes too late changes nothing but the absence of that detail. Results are kept for
the last `keep` alerts, in memory: after a restart, alerts are enriched again if they fire again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from detector.alerting.content import CallDetail
from detector.alerting.worker import Kept, Worker
from detector.source.ratelimit import TokenBucket

Fetch = Callable[[str, str], CallDetail | None]
"""`fetch(account, call_id)`: the call's detail, or None when it cannot be had."""
Record = Callable[[str], None]
"""`record(outcome)` with outcome fetched|failed|skipped (metrics)."""


def _ignore(outcome: str) -> None:
    """The default `Record`."""


class Enricher(Worker):
    """Fetches call details for new alerts on its own thread; `details()` never blocks."""

    thread_name = "cdr-detector-enrich"

    def __init__(
        self,
        fetch: Fetch,
        *,
        calls: int = 3,
        rate_per_s: float = 1.0,
        queue_size: int = 100,
        keep: int = 2000,
        record: Record = _ignore,
        log: Any = None,
    ) -> None:
        super().__init__()
        self.fetch, self.calls, self.record = fetch, calls, record
        self.log = log if log is not None else structlog.get_logger(component="enrichment")
        self._queue: queue.Queue[tuple[str, str, list[str]]] = queue.Queue(queue_size)
        self._bucket = TokenBucket(rate_per_s, clock=time.monotonic, sleep=self._pause, burst=1)
        self._found: Kept[str, list[CallDetail]] = Kept(keep)
        self._submitted: Kept[str, None] = Kept(keep)
        self._lock = threading.Lock()

    def submit(self, alert: Mapping[str, Any]) -> bool:
        """Queue a firing alert's sample calls (once per fingerprint); False if skipped."""
        fingerprint = str(alert.get("fingerprint", ""))
        call_ids = [str(c) for c in dict(alert.get("evidence") or {}).get("call_ids", [])]
        with self._lock:
            if fingerprint in self._submitted or not call_ids:
                return False
            self._submitted.put(fingerprint, None)
        try:
            self._queue.put_nowait((fingerprint, str(alert.get("account", "")), call_ids))
        except queue.Full:
            self.record("skipped")
            return False
        return True

    def details(self, fingerprint: str) -> list[CallDetail]:
        """What has been fetched for an alert so far."""
        with self._lock:
            return list(self._found.get(fingerprint, ()))

    def run_once(self) -> bool:
        """Handle one queued alert if there is one (the thread's body; tests call it)."""
        try:
            fingerprint, account, call_ids = self._queue.get(timeout=0.5)
        except queue.Empty:
            return False
        for call_id in call_ids[: self.calls]:
            if self._stop.is_set():
                return True
            self._bucket.acquire()
            detail = self._fetch(account, call_id)
            if detail is not None:
                with self._lock:
                    found = self._found.get(fingerprint, [])
                    self._found.put(fingerprint, [*found, detail])
        return True

    def _fetch(self, account: str, call_id: str) -> CallDetail | None:
        try:
            detail = self.fetch(account, call_id)
        except Exception as exc:  # an optional extra: any failure just means no detail
            self.record("failed")
            self.log.info("call detail not fetched", call_id=call_id, error=type(exc).__name__)
            return None
        self.record("fetched" if detail is not None else "failed")
        return detail

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)
