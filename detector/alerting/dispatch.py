"""Delivery: drain the outbox through the notifiers, retrying forever with capped backoff.

`Dispatcher.drain(now)` takes the due rows and hands each to its receiver's notifier, one
short transaction per row (the state store's cycle transaction is never held open across a
network call). `RetryableDelivery` reschedules the row after ``base · 2^attempts`` seconds,
at least the receiver's `retry_after`, at most `max_backoff_s` (a 429's Retry-After is
honoured up to `max_retry_after_s`): an outage delays notifications, it never drops them.
After one retryable failure a receiver is skipped for the rest of the drain so a dead
receiver costs one timeout per drain, not one per row. `PermanentDelivery` dead-letters the
row; it is counted and logged. Rows for receivers with no notifier configured stay queued.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from detector.alerting import outbox
from detector.alerting.notifiers import Notifier
from detector.errors import PermanentDelivery, RetryableDelivery

ConnectionSource = Callable[[], sqlite3.Connection]


@dataclass(slots=True)
class DrainReport:
    """What one drain did, per receiver."""

    sent: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    dead: Counter[str] = field(default_factory=Counter)

    def outcomes(self) -> Iterator[tuple[str, str, int]]:
        """(receiver, outcome, count) with outcome sent|retry|dead, for metrics."""
        for outcome, counts in (("sent", self.sent), ("retry", self.retried), ("dead", self.dead)):
            for receiver, n in sorted(counts.items()):
                yield receiver, outcome, n


def backoff(attempts: int, *, base_s: float = 5.0, cap_s: float = 600.0) -> float:
    """Seconds before the next try after `attempts` failures: exponential, capped.

    >>> [backoff(n) for n in range(0, 9)]
    [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0, 600.0]
    """
    return float(min(cap_s, base_s * 2 ** min(attempts, 32)))


class Dispatcher:
    """Sends due outbox rows through the notifiers.

    `conn` returns the open state connection, e.g. ``Dispatcher(lambda: store.conn, …)``.
    """

    def __init__(
        self,
        conn: ConnectionSource,
        notifiers: Mapping[str, Notifier],
        clock: Callable[[], float],
        *,
        batch: int = 100,
        base_backoff_s: float = 5.0,
        max_backoff_s: float = 600.0,
        max_retry_after_s: float = 3600.0,
        log: Any = None,
    ) -> None:
        self._conn = conn
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.batch = batch
        self.base_backoff_s, self.max_backoff_s = base_backoff_s, max_backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.log = log if log is not None else structlog.get_logger(component="dispatch")

    def drain(self, now: float) -> DrainReport:
        """Send rows due at `now` (up to `batch`); return sent/retried/dead counts by receiver.

        Works in rounds, because a fingerprint's next row becomes due only once the one
        before it is sent; a receiver that failed is left out of later rounds.
        """
        report, conn, budget = DrainReport(), self._conn(), self.batch
        live = set(self.notifiers)
        while budget > 0 and live:
            items = outbox.due(conn, now, budget, sorted(live))
            if not items:
                break
            for item in items:
                budget -= 1
                if item.receiver in live and not self._deliver(conn, item, report):
                    live.discard(item.receiver)
        return report

    def pending(self) -> dict[str, int]:
        """Rows still waiting, per receiver."""
        return outbox.pending_count(self._conn())

    def _deliver(
        self,
        conn: sqlite3.Connection,
        item: outbox.OutboxItem,
        report: DrainReport,
    ) -> bool:
        """Send one row and record the outcome; False when the receiver should be skipped."""
        key = (item.delivery_id, item.receiver)
        fields = {"receiver": item.receiver, "delivery_id": item.delivery_id}
        try:
            self.notifiers[item.receiver].send(item.payload)
        except RetryableDelivery as exc:
            delay = self._delay(item.attempts, exc.retry_after)
            _in_transaction(conn, outbox.mark_retry, *key, self.clock() + delay, str(exc))
            report.retried[item.receiver] += 1
            self.log.warning(
                "delivery failed; will retry", **fields, attempts=item.attempts + 1,
                retry_in_s=delay, error=str(exc),
            )  # fmt: skip
            return False
        except PermanentDelivery as exc:
            _in_transaction(conn, outbox.mark_dead, *key, str(exc), self.clock())
            report.dead[item.receiver] += 1
            self.log.error("delivery refused; dead-lettered", **fields, error=str(exc))
            return True
        _in_transaction(conn, outbox.mark_sent, *key, self.clock())
        report.sent[item.receiver] += 1
        return True

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        delay = backoff(attempts, base_s=self.base_backoff_s, cap_s=self.max_backoff_s)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after_s))
        return delay


def _in_transaction(conn: sqlite3.Connection, change: Callable[..., None], *args: Any) -> None:
    """Run one outbox change, `change(conn, *args)`, in its own short transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        change(conn, *args)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
