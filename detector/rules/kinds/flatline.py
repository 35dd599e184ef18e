"""`flatline`: a key that normally has traffic now has (almost) none.

Matching CDRs feed a window and an hour-of-week baseline. On each tick (the watermark moving
on), the expected volume of the window ending now is summed from the baseline; when it is
high while the observed volume is at most `observed_max`, the reading's value is the expected
volume (compared with the thresholds, e.g. "expected ≥ 20 calls, saw none").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from detector.rules.fields import Clock, Facts
from detector.rules.kinds.base import Grid, KindContext, Reading, narrow
from detector.rules.spec import AnyRule, FlatlineRule
from detector.windows import Buckets, Seasonal


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
        self.clock: Clock = ctx.clock

    def new_key(self) -> Traffic:
        """No history yet."""
        return Traffic()

    def observe(self, facts: Facts, matched: bool, data: Any) -> Reading | None:
        """Learn the CDR; a flatline is never found on a CDR."""
        if matched:
            data.baseline.add(facts.local_hour, 1.0)
            data.window.add(facts.t // self.width, 0.0, self.span)
        return None

    def tick(self, data: Any, now: int) -> Reading | None:
        """Compare the window ending at `now` with what the baseline expects for it."""
        if data.baseline.hours_seen < self.warmup_hours:
            return None
        observed = data.window.count_at(now // self.width, self.span)
        if observed > self.observed_max:
            return Reading(0.0, observed)
        expected = self.expected(data.baseline, now)
        return Reading(expected, expected, f"observed {observed:.0f}")

    def expected(self, baseline: Seasonal, now: int) -> float:
        """Baseline volume of the window ending at `now`, hour by hour (partial hours pro rata)."""
        total, start = 0.0, now - self.window_s
        t = start
        while t < now:
            step = min(3600 - t % 3600, now - t)
            total += baseline.expected(self.clock.local_hour(t)) * step / 3600.0
            t += step
        return total

    def expired(self, data: Any, now: int) -> bool:
        """Never: the baseline is the point (the account's TTL evicts it)."""
        return False
