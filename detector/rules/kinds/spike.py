"""`spike`: a key's window aggregate far above its own seasonal (hour-of-week) baseline.

The baseline learns the aggregate per local hour (`Seasonal`); the value is the window's
aggregate over what the baseline expects for a window at this hour of the week, never below
`min_baseline`. Nothing is judged during `warmup` or while the window is below `floor`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, KindContext, Reading, amount_of, narrow, read_at
from detector.rules.spec import AnyRule, SpikeRule
from detector.windows import Buckets, Seasonal
from detector.windows.clock import Clock


@dataclass(slots=True)
class Trend:
    """The current window and the key's hourly baseline of the same aggregate."""

    window: Buckets = field(default_factory=Buckets)
    baseline: Seasonal = field(default_factory=Seasonal)


class Spike:
    """Value = window aggregate / expected aggregate for this hour of week."""

    name: ClassVar[str] = "spike"
    watches_all = False
    ticks = False
    forgets = False

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        spec = narrow(rule, SpikeRule)
        self.grid = Grid.of(spec.window)
        self.width, self.span = self.grid.width, self.grid.span
        self.amount = amount_of(spec.aggregate)
        self.hours = spec.window / 3600.0
        self.floor = spec.floor
        self.min_baseline = spec.min_baseline
        self.warmup_hours = int(spec.warmup // 3600)

    def new_key(self) -> Trend:
        """No history yet."""
        return Trend()

    def observe(self, facts: Facts, matched: bool, data: Any) -> Reading | None:
        """Learn the CDR into the baseline and the window; compare once warmed up."""
        if not matched:
            return None
        x = self.amount(facts) if self.amount else 1.0
        data.baseline.add(facts.local_hour, x)
        if not data.window.add(facts.t // self.width, x, self.span):
            return None
        current = data.window.total
        if data.baseline.hours_seen < self.warmup_hours or current < self.floor:
            return None
        expected = max(data.baseline.expected(facts.local_hour) * self.hours, self.min_baseline)
        at = read_at(facts.t, data.window.head, self.width)
        return Reading(current / expected, current, f"expected {expected:.4g}", at)

    def tick(self, data: Any, now: int, clock: Clock) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Any, now: int) -> bool:
        """Never: the baseline is the point (the account's TTL evicts it)."""
        return False
