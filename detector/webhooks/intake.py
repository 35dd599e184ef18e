"""The poll loop's side of the webhooks: drain the receiver between polls, fold the events
into a cycle (`merge.fold`), watch the attempts, and time each alert from what tipped it.

Between two polls the loop waits in `idle`: as soon as the receiver queues an event it runs a
cycle for the events alone (no API request), so a burst announced by CallInitiated is judged,
committed and handed to delivery within a second of arriving; the poll itself keeps its own
interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from detector.attempts import AttemptMonitor
from detector.domain import CDR, Alert, AlertStatus
from detector.source.rows import Normalize
from detector.webhooks.events import Attempt
from detector.webhooks.ingest import WebhookIngest
from detector.webhooks.merge import Folded, Lookup, fold


@dataclass
class Intake:
    """The receiver, the normaliser its Hangups go through, and the attempt rules."""

    ingest: WebhookIngest
    normalize: Normalize
    attempts: AttemptMonitor

    def fold(self, seen: Lookup, early: Lookup, taken: Collection[str] = ()) -> Folded:
        """Everything queued since the last call, deduped against committed ids and the ids
        `taken` by this cycle's poll."""
        received = self.ingest.drain()
        folded = fold(received, self.normalize, seen, early, taken)
        for item in received:
            if isinstance(item.event, Attempt):
                folded.received.setdefault(item.event.call_id, item.at)
        return folded

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
