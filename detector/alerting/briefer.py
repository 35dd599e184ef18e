"""Briefings fetched on the side: the account's last 24 hours of calls for each new alert.

When an alert first fires (and when it resolves), the notification stage hands it to the
`Briefer` (never waiting: a full queue skips it, logged). The briefer's thread lists the
account's calls of the 24 hours up to the alert from the partner API, newest pages first
(`calls_of`: `investigate.reader.Reader.recent`, under the API client's rate limit), and keeps
the `briefing.brief` of them for the last `keep` alerts, in memory. A notice built later (when
the group is sent, typically after `group_wait`) shows what has arrived by then; a fetch that
fails or comes too late only leaves the facts and the chart out. Detection never waits for
it, and delivery never does either.

Busy accounts first, then whole: reading a 24-hour day of an account with tens of thousands
of calls takes hundreds of pages, minutes at the API's rate. So each alert is read in two
turns. The first reads only back to `FIRST_LOOK` before the alert's window (the window's
calls and a few hours of the account's normal, a handful of pages; for the busiest accounts
it stops after `FIRST_PAGES` pages once the window itself is whole) and publishes a briefing
at once, so the first notice has its facts and a chart of those hours. The rest of the day is
read afterwards, `STEP_PAGES` pages at a time between new alerts' first turns (new alerts
always go first), and each step replaces the briefing with a fuller one; at most
`MAX_PENDING` alerts wait for their rest (the oldest is left at its partial briefing).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from detector.alerting.briefing import HOURS, Briefing, Scope, brief, span
from detector.alerting.worker import Kept, Worker
from detector.domain import CDR

Page = tuple[list[CDR], "datetime | None"]
"""One page of calls and the time from which the calls given so far are whole (None: unknown)."""

CallsOf = Callable[[str, datetime, datetime], Iterable[Page]]
"""`calls_of(account, since, until)`: the account's calls that started in that time, newest
pages first (`investigate.reader.Reader.recent`)."""

FIRST_LOOK = timedelta(hours=2, minutes=30)
"""How far before the alert's window the first turn reads (ten 15-minute buckets of normal)."""

FIRST_PAGES = 15
"""Pages after which a first look stops short of `FIRST_LOOK` once the window itself is whole
(the busiest accounts: 15 s at the default rate, inside the 30 s group wait)."""

STEP_PAGES = 5
"""Pages read per later turn of an alert's rest of the day."""

MAX_PENDING = 8
"""Alerts whose rest of the day may wait at once."""


@dataclass(slots=True)
class _Job:
    """An alert being read: its pages so far and how far back they are whole."""

    alert: dict[str, Any]
    key: tuple[str, str]
    pages: Iterator[Page]
    since: datetime
    begin: datetime
    first: datetime
    calls: list[CDR] = field(default_factory=list)
    whole_from: datetime | None = None

    def read(self, pages: int | None) -> bool:
        """Read `pages` more pages (None: until the first look is whole); True when done."""
        for count, (cdrs, whole) in enumerate(self.pages, start=1):
            self.calls += cdrs
            if whole is not None:
                self.whole_from = whole if self.whole_from is None else min(whole, self.whole_from)
            if self.whole_from is not None and self.whole_from <= self.since:
                return True
            if pages is None and self._looked(count):
                return False
            if pages is not None and count >= pages:
                return False
        self.whole_from = self.since
        return True

    def _looked(self, count: int) -> bool:
        """True when the first look is whole: back to `first`, or the window after
        `FIRST_PAGES` pages."""
        whole = self.whole_from
        return whole is not None and (
            whole <= self.first or (whole <= self.begin and count >= FIRST_PAGES)
        )


class Briefer(Worker):
    """Computes briefings for alerts on its own thread; `briefing()` never blocks."""

    thread_name = "cdr-detector-brief"

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
        super().__init__()
        self.calls_of, self.scope_of, self.mask = calls_of, scope_of, mask
        self.log = log if log is not None else structlog.get_logger(component="briefing")
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(queue_size)
        self._found: Kept[tuple[str, str], Briefing] = Kept(keep)
        self._lock = threading.Lock()
        self._pending: deque[_Job] = deque()
        """Alerts whose first look is published and whose rest of the day is still to read
        (touched only by the thread that calls `run_once`)."""

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
        """One turn: a new alert's first look, else a step of a waiting alert's rest (the
        thread's body; tests call it). False when there was nothing to do."""
        try:
            alert = self._queue.get(block=not self._pending, timeout=timeout)
        except queue.Empty:
            if not self._pending:
                return False
            self._turn(self._pending.popleft(), STEP_PAGES)
            return True
        fresh = self._job(alert)
        if fresh is not None:
            self._turn(fresh, None)
        return True

    def _job(self, alert: dict[str, Any]) -> _Job | None:
        found = span(alert)
        if found is None:
            return None
        begin, until = found
        since = min(begin, until - timedelta(hours=HOURS))
        account = str(alert.get("account", ""))
        key = (str(alert.get("fingerprint", "")), str(alert.get("status", "")))
        try:
            pages = iter(self.calls_of(account, since, until))
        except Exception as exc:  # an optional extra: any failure just means no briefing
            self._failed(account, exc)
            return None
        return _Job(alert, key, pages, since, begin, max(since, begin - FIRST_LOOK))

    def _turn(self, job: _Job, pages: int | None) -> None:
        """Read a turn's pages of `job`, publish what they give, and queue the rest."""
        try:
            done = job.read(pages)
        except Exception as exc:  # a failed page keeps the briefing of the pages before it
            self._failed(str(job.alert.get("account", "")), exc)
            done = True
            if job.whole_from is None or job.whole_from > job.begin:
                return
        scope = self.scope_of(str(job.alert.get("rule", "")))
        result = brief(job.alert, job.calls, scope, self.mask, job.whole_from)
        if result is not None:
            with self._lock:
                self._found.put(job.key, result)
        if not done:
            if len(self._pending) >= MAX_PENDING:
                left = self._pending.popleft()
                self.log.info("briefing left partial: too many waiting", fingerprint=left.key[0])
            self._pending.append(job)

    def _failed(self, account: str, exc: Exception) -> None:
        self.log.info("calls not fetched for a briefing", account=account,
                      error=type(exc).__name__)  # fmt: skip
