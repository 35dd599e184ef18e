"""`new_value`: the first time a key uses a value (e.g. calls a country) within a lookback."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Kind, KindContext, Reading, narrow
from detector.rules.spec import AnyRule, NewValueRule
from detector.windows.clock import LocalHours

DAY_S = 86400
MAX_VALUES = 512
"""Most values remembered per key; past it, the stalest are forgotten first."""


@dataclass(slots=True)
class Seen:
    """Value → newest day (epoch days) it was used, and when the key's history starts."""

    days: dict[str, int] = field(default_factory=dict)
    since: int = -1


class NewValue(Kind[Seen]):
    """Value = 1 for a CDR whose `field` value is new for the key, else 0."""

    name: ClassVar[str] = "new_value"
    watches_all = False
    ticks = False
    forgets = False

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        spec = narrow(rule, NewValueRule)
        self.field = spec.field
        self.get = operator.attrgetter(spec.field)
        self.lookback_days = max(1, int(spec.lookback // DAY_S))
        self.warmup = int(spec.warmup)

    def new_key(self) -> Seen:
        """No history yet."""
        return Seen()

    def observe(self, facts: Facts, matched: bool, data: Seen) -> Reading | None:
        """Remember the value; 1 when it is new for the key and history is long enough."""
        if not matched:
            return None
        value, day = str(self.get(facts)), facts.t // DAY_S
        if data.since < 0 or facts.t < data.since:
            data.since = facts.t
        last = data.days.get(value)
        fresh = last is None or day - last > self.lookback_days
        if last is None or day > last:
            self._remember(data, value, day)
        if fresh and facts.t - data.since >= self.warmup and value:
            return Reading(1.0, 1.0, f"new {self.field} {value}")
        return Reading(0.0, 1.0)

    def _remember(self, data: Seen, value: str, day: int) -> None:
        if value not in data.days and len(data.days) >= MAX_VALUES:
            stalest = min(data.days, key=data.days.__getitem__)
            del data.days[stalest]
        data.days[value] = day

    def tick(self, data: Seen, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Seen, now: int) -> bool:
        """Never: the history is the point (the account's TTL evicts it)."""
        return False
