"""Briefings fetched on the side: the account's last 24 hours of calls for each new alert.

When an alert first fires (and when it resolves), the notification stage hands it to the
`Briefer` (never waiting: a full queue skips it, logged). The briefer's thread lists the
account's calls of the 24 hours up to the alert from the partner API (`calls_of`, the same
list endpoint as `cdr-detector cdrs`, under the API client's rate limit) and keeps the
`briefing.brief` of them for the last `keep` alerts, in memory. A notice built later (when the
group is sent, typically after `group_wait`) shows what has arrived by then; a fetch that
fails or comes too late only leaves the facts and the chart out. Detection never waits for
it, and delivery never does either.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from detector.alerting.briefing import HOURS, Briefing, Scope, brief, span
from detector.domain import CDR

CallsOf = Callable[[str, datetime, datetime], list[CDR]]
"""`calls_of(account, since, until)`: the account's calls that started in that time."""


class Briefer:
    """Computes briefings for alerts on its own thread; `briefing()` never blocks."""

    def __init__(
        self,
        calls_of: CallsOf,
        scope_of: Callable[[str], Scope],
        mask: Callable[[str], str],
        *,
        queue_size: int = 50,
        keep: int = 500,
        log: Any = None,
    ) -> None:
        self.calls_of, self.scope_of, self.mask, self.keep = calls_of, scope_of, mask, keep
        self.log = log if log is not None else structlog.get_logger(component="briefing")
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(queue_size)
        self._found: OrderedDict[tuple[str, str], Briefing] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, alert: Mapping[str, Any]) -> bool:
        """Queue an alert (firing or resolved) for a briefing; False when skipped."""
        key = (str(alert.get("fingerprint", "")), str(alert.get("status", "")))
        with self._lock:
            if key in self._found and key[1] == "firing":
                return False
        try:
            self._queue.put_nowait(dict(alert))
        except queue.Full:
            self.log.info("briefing skipped: queue full", fingerprint=key[0])
            return False
        return True

    def briefing(self, fingerprint: str, status: str) -> Briefing | None:
        """The briefing of an alert in that status so far (None when none arrived)."""
        with self._lock:
            return self._found.get((fingerprint, status))

    def latest(self, fingerprint: str) -> Briefing | None:
        """The newest briefing of an alert in any status (the status page's chart)."""
        with self._lock:
            found = [b for (fp, _), b in self._found.items() if fp == fingerprint]
        return found[-1] if found else None

    def run_once(self, timeout: float = 0.5) -> bool:
        """Brief one queued alert if there is one (the thread's body; tests call it)."""
        try:
            alert = self._queue.get(timeout=timeout)
        except queue.Empty:
            return False
        found = span(alert)
        if found is None:
            return True
        until = found[1]
        since = min(found[0], until - timedelta(hours=HOURS))
        account = str(alert.get("account", ""))
        try:
            calls = self.calls_of(account, since, until)
        except Exception as exc:  # an optional extra: any failure just means no briefing
            self.log.info("calls not fetched for a briefing", account=account,
                          error=type(exc).__name__)  # fmt: skip
            return True
        result = brief(alert, calls, self.scope_of(str(alert.get("rule", ""))), self.mask)
        if result is not None:
            key = (str(alert.get("fingerprint", "")), str(alert.get("status", "")))
            with self._lock:
                self._found[key] = result
                self._found.move_to_end(key)
                while len(self._found) > self.keep:
                    self._found.popitem(last=False)
        return True

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="cdr-detector-brief",
                                            daemon=True)  # fmt: skip
            self._thread.start()

    def stop(self) -> None:
        """Stop; what is queued is dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()


def calls_from(read_day: Callable[[date, str], list[CDR]]) -> CallsOf:
    """`calls_of` from a reader of one UTC day of an account's calls (the partner API's list
    endpoint through `investigate.reader.Reader.day`): the days the span touches, filtered."""

    def calls_of(account: str, since: datetime, until: datetime) -> list[CDR]:
        found: list[CDR] = []
        day = since.astimezone(UTC).date()
        while day <= until.astimezone(UTC).date():
            found += [c for c in read_day(day, account) if since <= c.start <= until]
            day += timedelta(days=1)
        return found

    return calls_of
