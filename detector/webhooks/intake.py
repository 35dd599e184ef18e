"""The poll loop's side of the webhooks: drain the receiver between polls, fold the events
into a cycle (`merge.fold`), watch the attempts and the calls still in progress
(`detector.opencalls`), and time each alert from what tipped it.

Between two polls the loop waits in `idle`: as soon as the receiver queues an event it runs a
cycle for the events alone (no API request), so a burst announced by CallInitiated is judged,
committed and handed to delivery within a second of arriving; the poll itself keeps its own
interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from detector.attempts import AttemptMonitor
from detector.domain import CDR, Alert, AlertStatus, Finding
from detector.opencalls import Census, OpenCalls
from detector.rules.engine import RuleEngine
from detector.source.rows import Normalize
from detector.webhooks.events import Attempt
from detector.webhooks.ingest import WebhookIngest
from detector.webhooks.merge import Folded, Lookup, fold


@dataclass
class EventClock:
    """Event time now: the newest event time seen, moved on since it was seen at the feed's
    pace, `rate` feed seconds per wall second (1 live; ``feed_time_per_poll_s / interval_s``
    against a simulator running faster than real time). Live, events arrive every few seconds
    and this is the wall clock to within their delay; when the feed goes quiet (an account's
    evening) open calls still age in the feed's own time, so a 3-hour call nobody else's
    traffic follows is judged at two hours all the same."""

    base: datetime | None = None
    wall: float = 0.0
    rate: float = 1.0

    def saw(self, at: datetime | None, wall: float) -> None:
        """An event of time `at` arrived at `wall` (epoch s)."""
        now = self.now(wall)
        if at is not None and (now is None or at > now):
            self.base, self.wall = at, wall

    def now(self, wall: float) -> datetime | None:
        """Event time at `wall`, None before the first event."""
        if self.base is None:
            return None
        return self.base + timedelta(seconds=max(0.0, wall - self.wall) * self.rate)


@dataclass
class Intake:
    """The receiver, the normaliser its Hangups go through, the attempt rules and the calls
    still in progress."""

    ingest: WebhookIngest
    normalize: Normalize
    attempts: AttemptMonitor
    calls: OpenCalls = field(default_factory=lambda: OpenCalls(max_s=86400.0))
    clock: EventClock = field(default_factory=EventClock)
    expired_told: int = 0
    """Open calls expired as of the last `census` (the metric counts the difference)."""

    def fold(self, seen: Lookup, early: Lookup, taken: Collection[str] = ()) -> Folded:
        """Everything queued since the last call, deduped against committed ids and the ids
        `taken` by this cycle's poll."""
        received = self.ingest.drain()
        folded = fold(received, self.normalize, seen, early, taken)
        for item in received:
            if isinstance(item.event, Attempt):
                folded.received.setdefault(item.event.call_id, item.at)
        return folded

    def findings(
        self,
        folded: Folded,
        cdrs: Iterable[CDR],
        ended: Collection[str],
        done: Lookup,
        engine: RuleEngine,
        wall: float,
    ) -> list[Finding]:
        """The attempt rules' findings for this drain, then the `open` rules' at event time
        now, after closing the calls whose CDR or Hangup came (`ended`, and the ids `done`
        reports among the attempts: processed before their CallInitiated arrived)."""
        found = self.attempts.observe(folded.attempts) if folded.attempts else []
        for attempt in folded.attempts:
            self.clock.saw(attempt.at, wall)
        for cdr in cdrs:
            self.clock.saw(cdr.end, wall)
        self.calls.close(ended)
        finished = done([a.call_id for a in folded.attempts]) | set(ended)
        self.calls.open(folded.attempts, finished)
        now = self.clock.now(wall)
        if now is not None:
            found += self.calls.judge(now, engine)
        return found

    def census(self, wall: float) -> tuple[Census, int] | None:
        """The calls in progress now and how many expired since the last census; None
        before the first event."""
        now = self.clock.now(wall)
        if now is None:
            return None
        expired, self.expired_told = self.calls.expired - self.expired_told, self.calls.expired
        return self.calls.census(now), expired

    def idle(self, seconds: float, stopping: threading.Event, cycle: Callable[[], object]) -> None:
        """Wait `seconds` for the next poll, running `cycle` whenever events are queued."""
        deadline = time.monotonic() + seconds
        while not stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.ingest.wait(min(left, 0.5)):
                cycle()


def latencies(
    alerts: Iterable[Alert], folded: Folded, polled: Iterable[CDR], now: float
) -> list[tuple[str, float]]:
    """(path, seconds) for each firing alert whose evidence this cycle brought: "webhook"
    from the event's arrival, "poll" from the end of the newest polled call (the moment its
    CDR could at the earliest be listed) to `now`, the alert's commit."""
    ends = {cdr.call_id: cdr.end.timestamp() for cdr in polled}
    out: list[tuple[str, float]] = []
    for alert in alerts:
        if alert.status is not AlertStatus.FIRING:
            continue
        hooked = [folded.received[c] for c in alert.evidence if c in folded.received]
        if hooked:
            out.append(("webhook", max(0.0, now - min(hooked))))
            continue
        seen = [ends[c] for c in alert.evidence if c in ends]
        if seen:
            out.append(("poll", max(0.0, now - max(seen))))
    return out
