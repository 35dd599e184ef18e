"""Delivery on its own task: the notification stage and one courier thread per receiver.

The poll loop only commits alerts (queued for the notification stage, which routes and groups
them into outbox rows: `alerting.notification`) and wakes this task; it never waits for a
receiver. The outbox is the persisted, bounded queue between them. Each courier:

- paces its receiver with a token bucket (`Pacing.rate_per_s`, `burst`), so a backlog after an
  outage reaches a webhook at a rate it accepts instead of 49 posts in 10 s;
- on a retryable failure (timeout, 5xx, 429) reschedules the row after
  ``base · 2^attempts`` seconds (capped), at least the receiver's `Retry-After` (honoured up to
  `max_retry_after_s`), and pauses the whole receiver until then: a throttling or dead receiver
  costs one request per backoff, not one per row;
- dead-letters a row the receiver refuses for good (`PermanentDelivery`), and also a row whose
  notifier fails in a way nobody planned for (a malformed URL in a secret, a bug): the error is
  logged by type only (its text may hold the URL's token) and counted, and the other receivers
  are not affected;
- keeps at most `max_pending` rows waiting: beyond that the oldest are dead-lettered (counted,
  logged, re-queued with `cdr-detector outbox retry`), so a receiver that is down for days
  cannot grow the state file without bound.

A receiver is slow only for itself: its courier waits, the others and the poll loop do not.
`Courier.step()` does one unit of work with an injected clock and sleep, so tests drive it
without threads; `Delivery` runs one thread per courier.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from detector.alerting.enrichment import Enricher
from detector.alerting.notification import NotificationStage
from detector.alerting.notifiers import Notifier
from detector.errors import PermanentDelivery, RetryableDelivery, StateError
from detector.source.ratelimit import TokenBucket
from detector.state.outbox import OutboxItem

IDLE_S = 5.0
"""Longest a courier sleeps with nothing due; a committed cycle wakes it at once anyway."""
STATE_RETRY_S = 5.0
"""Pause after the state file failed (disk full, locked) before a courier tries again."""
CAP_EVERY_S = 60.0
"""How often a courier enforces its backlog cap."""

Record = Callable[[str, str, int], None]
"""`record(receiver, outcome, n)` with outcome sent|retry|dead (metrics)."""


class DeliveryQueue(Protocol):
    """What a courier needs from the outbox (`state.outbox.Outbox` implements it)."""

    def due(self, now: float, limit: int, receiver: str) -> list[OutboxItem]:
        """Rows of `receiver` due at `now`, in delivery order."""
        ...

    def next_due(self, receiver: str) -> float | None:
        """When the next row of `receiver` is due."""
        ...

    def mark_sent(self, item: OutboxItem, now: float) -> None:
        """Record a delivery."""
        ...

    def mark_retry(self, item: OutboxItem, next_at: float, error: str) -> None:
        """Record a failed attempt and when to retry."""
        ...

    def mark_dead(self, item: OutboxItem, error: str, now: float) -> None:
        """Record a dead letter."""
        ...

    def cap(self, receiver: str, keep: int, now: float) -> int:
        """Dead-letter the oldest pending rows beyond `keep`."""
        ...

    def pending(self) -> dict[str, int]:
        """Pending rows per receiver."""
        ...


@dataclass(frozen=True, slots=True)
class Pacing:
    """How hard one receiver may be pushed, and how patiently it is retried.

    rate_per_s: sustained notifications per second (Slack allows about 1 per webhook).
    burst: notifications sent back to back before the rate applies.
    batch: rows read from the outbox per round.
    max_pending: rows kept waiting; older ones beyond it are dead-lettered.
    base_backoff_s, max_backoff_s: retry delay after n failures, ``base · 2^n`` capped.
    max_retry_after_s: the longest `Retry-After` honoured.
    """

    rate_per_s: float = 1.0
    burst: int = 5
    batch: int = 50
    max_pending: int = 10_000
    base_backoff_s: float = 5.0
    max_backoff_s: float = 600.0
    max_retry_after_s: float = 3600.0


def backoff(attempts: int, *, base_s: float = 5.0, cap_s: float = 600.0) -> float:
    """Seconds before the next try after `attempts` failures: exponential, capped.

    >>> [backoff(n) for n in range(0, 9)]
    [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0, 600.0]
    """
    return float(min(cap_s, base_s * 2 ** min(attempts, 32)))


def _ignore(receiver: str, outcome: str, n: int) -> None:
    """The default `Record`: count nothing."""


class Courier:
    """Delivers one receiver's notifications, paced, retrying with backoff; never raises on a
    receiver's failure."""

    def __init__(
        self,
        notifier: Notifier,
        queue: DeliveryQueue,
        pacing: Pacing = Pacing(),
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = time.sleep,
        record: Record = _ignore,
        log: Any = None,
    ) -> None:
        self.notifier, self.queue, self.pacing = notifier, queue, pacing
        self.name = notifier.name
        self.clock, self.record = clock, record
        self.log = log if log is not None else structlog.get_logger(component="delivery")
        self.bucket = TokenBucket(pacing.rate_per_s, clock=clock, sleep=sleep, burst=pacing.burst)
        self.resume_at = 0.0
        """Wall time before which the receiver is left alone (after a failure or a 429)."""
        self.idle = False
        """The last step found nothing due."""
        self._next_cap = 0.0

    def step(self, stopping: Callable[[], bool] = lambda: False) -> float:
        """Send what is due now, paced; return the seconds until there may be more to do."""
        now = self.clock()
        self._enforce_cap(now)
        if now < self.resume_at:
            self.idle = True  # nothing can go out before then
            return self.resume_at - now
        items = self.queue.due(now, self.pacing.batch, self.name)
        self.idle = not items
        if not items:
            upcoming = self.queue.next_due(self.name)
            return IDLE_S if upcoming is None else min(max(upcoming - now, 0.0), IDLE_S)
        for item in items:
            if stopping():
                return 0.0
            self.bucket.acquire()
            if not self._send(item):
                return max(self.resume_at - self.clock(), 0.0)
        return 0.0

    def _enforce_cap(self, now: float) -> None:
        if now < self._next_cap:
            return
        self._next_cap = now + CAP_EVERY_S
        dropped = self.queue.cap(self.name, self.pacing.max_pending, now)
        if dropped:
            self.record(self.name, "dead", dropped)
            self.log.error(
                "outbox backlog over the receiver's cap; oldest notifications dead-lettered",
                receiver=self.name, dead_lettered=dropped, max_pending=self.pacing.max_pending,
            )  # fmt: skip

    def _send(self, item: OutboxItem) -> bool:
        """Deliver one row and record the outcome; False when the receiver is now paused."""
        fields = {"receiver": self.name, "delivery_id": item.delivery_id}
        try:
            self.notifier.send(item.payload)
        except RetryableDelivery as exc:
            delay = self._delay(item.attempts, exc.retry_after)
            self.queue.mark_retry(item, self.clock() + delay, str(exc))
            self.resume_at = self.clock() + delay
            self.record(self.name, "retry", 1)
            self.log.warning(
                "delivery failed; will retry", **fields, attempts=item.attempts + 1,
                retry_in_s=delay, error=str(exc),
            )  # fmt: skip
            return False
        except PermanentDelivery as exc:
            self._dead(item, str(exc), fields)
            return True
        except Exception as exc:  # one broken receiver must not stop delivery
            reason = (
                f"{self.name}: {type(exc).__name__} in the notifier (its message is withheld: it "
                "may contain the receiver's secret URL); check this receiver's settings"
            )
            self._dead(item, reason, fields)
            return True
        self.queue.mark_sent(item, self.clock())
        self.record(self.name, "sent", 1)
        return True

    def _dead(self, item: OutboxItem, reason: str, fields: dict[str, str]) -> None:
        self.queue.mark_dead(item, reason, self.clock())
        self.record(self.name, "dead", 1)
        self.log.error("delivery refused; dead-lettered", **fields, error=reason)

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        pacing = self.pacing
        delay = backoff(attempts, base_s=pacing.base_backoff_s, cap_s=pacing.max_backoff_s)
        if retry_after is not None:
            delay = max(delay, min(retry_after, pacing.max_retry_after_s))
        return delay


class Delivery:
    """The delivery task: the notification stage's thread and a courier thread per receiver,
    woken when a cycle commits."""

    def __init__(
        self,
        queue: DeliveryQueue,
        notifiers: Mapping[str, Notifier],
        pacing: Mapping[str, Pacing] | None = None,
        *,
        stage: NotificationStage | None = None,
        enricher: Enricher | None = None,
        clock: Callable[[], float] = time.time,
        record: Record = _ignore,
        gauge: Callable[[str, int], None] | None = None,
        grace_s: float = 5.0,
        log: Any = None,
    ) -> None:
        self.queue, self.stage, self.enricher = queue, stage, enricher
        self.grace_s = grace_s
        """At shutdown, how long due notifications get to go out before the threads stop."""
        self.log = log if log is not None else structlog.get_logger(component="delivery")
        self._stop = threading.Event()
        self._wake = {name: threading.Event() for name in notifiers}
        self._stage_wake = threading.Event()
        self.stage_idle = stage is None
        """The stage's last round found nothing to route and sent nothing."""
        self._gauge = gauge
        self.couriers = {
            name: Courier(
                notifier, queue, (pacing or {}).get(name, Pacing()), clock=clock,
                sleep=self._stop.wait, record=record, log=self.log,
            )
            for name, notifier in notifiers.items()
        }  # fmt: skip
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one thread per receiver (idempotent)."""
        if self._threads:
            return
        self._stop.clear()
        if self.enricher is not None:
            self.enricher.start()
        if self.stage is not None and self.stage.notice.briefer is not None:
            self.stage.notice.briefer.start()
        if self.stage is not None:
            thread = threading.Thread(
                target=self._stage_loop, args=(self.stage,), name="cdr-detector-notify",
                daemon=True,
            )  # fmt: skip
            thread.start()
            self._threads.append(thread)
        for name, courier in self.couriers.items():
            thread = threading.Thread(
                target=self._loop, args=(courier, self._wake[name]),
                name=f"cdr-detector-deliver-{name}", daemon=True,
            )  # fmt: skip
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """New alerts or rows were committed: the stage and every courier look at once."""
        self._stage_wake.set()
        self._wake_couriers()

    def _wake_couriers(self) -> None:
        for event in self._wake.values():
            event.set()

    def settle(self, timeout_s: float) -> bool:
        """Wait until every courier found nothing due (or `timeout_s` passed); True if settled."""
        deadline = time.monotonic() + timeout_s
        for courier in self.couriers.values():
            courier.idle = False
        self.stage_idle = self.stage is None
        self.wake()
        while time.monotonic() < deadline:
            idle = self.stage_idle and all(c.idle for c in self.couriers.values())
            if idle and self._quiet():
                return True
            time.sleep(0.05)
        return False

    def _quiet(self) -> bool:
        """Nothing to route or flush now, and no receiver that may send has a row due."""
        if self.stage is not None and not self.stage.quiet():
            return False
        for courier in self.couriers.values():
            now = courier.clock()
            if courier.resume_at > now:
                continue  # resting after a failure: its rows wait for the next start
            upcoming = self.queue.next_due(courier.name)
            if upcoming is not None and upcoming <= now:
                return False
        return True

    def stop(self, grace_s: float | None = None) -> None:
        """Give due notifications `grace_s` to go out, then stop; the rest stay queued."""
        grace_s = self.grace_s if grace_s is None else grace_s
        if self._threads:
            self.settle(grace_s)
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout=grace_s)
        self._threads = []
        if self.enricher is not None:
            self.enricher.stop()
        if self.stage is not None and self.stage.notice.briefer is not None:
            self.stage.notice.briefer.stop()

    def _stage_loop(self, stage: NotificationStage) -> None:
        while not self._stop.is_set():
            try:
                wait, messages = stage.step()
                self.stage_idle = messages == 0 and wait > 0
                if messages:
                    self._wake_couriers()
            except StateError as exc:
                wait = STATE_RETRY_S
                self.log.error("notification stage paused: the state file failed", error=str(exc))
            except Exception:  # the supervisor of the stage: log the bug, go on
                wait = STATE_RETRY_S
                self.log.exception("notification stage failed; restarting it")
            if wait > 0:
                self._stage_wake.wait(wait)
            self._stage_wake.clear()

    def _loop(self, courier: Courier, wake: threading.Event) -> None:
        while not self._stop.is_set():
            try:
                wait = courier.step(self._stop.is_set)
                if self._gauge is not None:
                    self._gauge(courier.name, self.queue.pending().get(courier.name, 0))
            except StateError as exc:
                wait = STATE_RETRY_S
                self.log.error(
                    "delivery paused: the state file failed", receiver=courier.name, error=str(exc)
                )
            except Exception:  # the supervisor of a courier: log the bug, go on
                wait = STATE_RETRY_S
                self.log.exception("delivery worker failed; restarting it", receiver=courier.name)
            if wait > 0:
                wake.wait(wait)
            wake.clear()
