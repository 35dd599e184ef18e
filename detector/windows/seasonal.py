"""A seasonal hour-of-week baseline of one quantity (e.g. calls per hour), per key.

Completed hours fold into 168 exponentially weighted slots (one per local hour of the week)
and into an overall hourly mean; hours with no events fold in as zeros, so a quiet night
teaches the baseline that nights are quiet. The hour in progress is kept apart and only
counted once it is complete. Expected values fall back to the overall mean for slots not yet
seen.

>>> s = Seasonal()
>>> for h in range(3):
...     s.add(h, 10.0)
>>> s.add(3, 0.0)        # hours 0..2 complete, 10 each
>>> s.hours_seen, round(s.expected(2), 2), round(s.expected(100), 2)
(3, 10.0, 10.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOURS_PER_WEEK = 168
ALPHA = 0.3
"""Weight of the newest week in a slot: ~3 weeks of memory."""

MEAN_ALPHA = 0.05
"""Weight of the newest hour in the overall hourly mean: ~1 day of memory."""

UNSET = -1.0


def hour_of_week(local_hour: int) -> int:
    """Hour of the week (Monday 00:00 = 0) of an absolute local hour since the epoch.

    The epoch (1970-01-01) was a Thursday, three days after a Monday.

    >>> hour_of_week(0), hour_of_week(24 * 4)
    (72, 0)
    """
    return (local_hour + 72) % HOURS_PER_WEEK


@dataclass(slots=True)
class Seasonal:
    """Hour-of-week baseline; `hour` is the absolute local hour in progress."""

    slots: list[float] = field(default_factory=list)
    mean: float = 0.0
    hour: int = -1
    current: float = 0.0
    hours_seen: int = 0

    def add(self, hour: int, value: float) -> None:
        """Add `value` to absolute local `hour`; values for hours already folded are ignored."""
        if hour > self.hour:
            self._roll(hour)
        if hour == self.hour:
            self.current += value

    def _roll(self, hour: int) -> None:
        if self.hour >= 0:
            self._fold(self.hour, self.current)
            for gap in range(self.hour + 1, min(hour, self.hour + 1 + HOURS_PER_WEEK)):
                self._fold(gap, 0.0)
        self.hour = hour
        self.current = 0.0

    def _fold(self, hour: int, value: float) -> None:
        if not self.slots:
            self.slots = [UNSET] * HOURS_PER_WEEK
            self.mean = value
        slot = hour_of_week(hour)
        old = self.slots[slot]
        self.slots[slot] = value if old == UNSET else old + ALPHA * (value - old)
        self.mean += MEAN_ALPHA * (value - self.mean)
        self.hours_seen += 1

    def expected(self, hour: int) -> float:
        """Expected value for absolute local `hour` (its slot, else the overall mean)."""
        if not self.slots:
            return 0.0
        value = self.slots[hour_of_week(hour)]
        return self.mean if value == UNSET else value
