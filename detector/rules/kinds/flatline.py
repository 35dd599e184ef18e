"""`flatline`: a key that normally has traffic now has (almost) none.

Matching CDRs feed a window and an hour-of-week baseline. On each tick (the watermark moving
on), the expected volume of the window ending now is summed from the baseline; when it is
high while the observed volume is at most `observed_max`, the reading's value is the expected
volume (compared with the thresholds, e.g. "expected ≥ 20 calls, saw none").

Nothing is judged until the baseline holds `warmup` hours of history, nor for a window with an
hour whose hour of the day the baseline has never seen. Within the first week, hours of the
week not seen yet are expected at their hour-of-day level (see `Seasonal`), so a warmup of a
couple of days suffices: quiet nights are learned from earlier nights. A weekend hour not seen
yet is expected at `UNSEEN_WEEKEND` of that level: the first weekend after weekdays is usually
much quieter, and overestimating it is what turns a quiet account's empty weekend window into a
false alarm (underestimating only delays catching a real outage until the weekend is learned).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, KindContext, Reading, narrow
from detector.rules.spec import AnyRule, FlatlineRule
from detector.windows import Buckets, Seasonal, hour_of_week
from detector.windows.clock import Clock
from detector.windows.seasonal import DAY, NONE, WEEKEND_START

QUARTER = 900
"""Every UTC offset is a whole number of quarter hours, so a UTC quarter lies in one local hour."""

UNSEEN_WEEKEND = 0.5
"""Share of its hour-of-day level expected of a weekend hour whose hour of the week is unseen."""


@dataclass(slots=True)
class Traffic:
    """The recent window and the hourly baseline of the key's matching CDRs."""

    window: Buckets = field(default_factory=Buckets)
    baseline: Seasonal = field(default_factory=Seasonal)


class Flatline:
    """Reads only on ticks: value = expected volume when observed ≤ `observed_max`."""

    name: ClassVar[str] = "flatline"
    watches_all = False
    ticks = True
    forgets = False

    def __init__(self, rule: AnyRule, ctx: KindContext) -> None:
        spec = narrow(rule, FlatlineRule)
        self.grid = Grid.of(spec.window)
        self.width, self.span = self.grid.width, self.grid.span
        self.window_s = int(spec.window)
        self.observed_max = spec.observed_max
        self.warmup_hours = int(spec.warmup // 3600)

    def new_key(self) -> Traffic:
        """No history yet."""
        return Traffic()

    def observe(self, facts: Facts, matched: bool, data: Any) -> Reading | None:
        """Learn the CDR; a flatline is never found on a CDR."""
        if matched:
            data.baseline.add(facts.local_hour, 1.0)
            data.window.add(facts.t // self.width, 0.0, self.span)
        return None

    def tick(self, data: Any, now: int, clock: Clock) -> Reading | None:
        """Compare the window ending at `now` with what the baseline expects for it."""
        if data.baseline.hours_seen < self.warmup_hours:
            return None
        observed = data.window.count_at(now // self.width, self.span)
        if observed > self.observed_max:
            return Reading(0.0, observed)
        expected = self.expected(data.baseline, now, clock)
        if expected is None:
            return None
        return Reading(expected, expected, f"observed {observed:.0f}")

    def expected(self, baseline: Seasonal, now: int, clock: Clock) -> float | None:
        """Baseline volume of the window ending at `now`, by local hour (partial hours pro rata);
        None when the baseline has never seen one of those hours of the day."""
        total, t = 0.0, now - self.window_s
        while t < now:
            step = min(QUARTER - t % QUARTER, now - t)  # never straddles a local hour
            hour = clock.local_hour(t)
            backing = baseline.history(hour)
            if backing == NONE:
                return None
            rate = baseline.expected(hour)
            if backing == DAY and hour_of_week(hour) >= WEEKEND_START:
                rate *= UNSEEN_WEEKEND
            total += rate * step / 3600.0
            t += step
        return total

    def expired(self, data: Any, now: int) -> bool:
        """Never: the baseline is the point (the account's TTL evicts it)."""
        return False
