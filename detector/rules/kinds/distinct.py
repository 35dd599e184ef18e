"""`distinct`: how many different values of a field (e.g. destinations) a key reached."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, Kind, KindContext, Reading, narrow, read_at
from detector.rules.spec import AnyRule, DistinctRule
from detector.windows import Buckets, Distinct
from detector.windows.clock import LocalHours


@dataclass(slots=True)
class Spread:
    """The distinct set of the window and, for a volume floor, all CDRs of the key."""

    values: Distinct = field(default_factory=Distinct)
    seen: Buckets | None = None


class Cardinality(Kind[Spread]):
    """Value = distinct values of `field` among matching CDRs (exact up to 2,048)."""

    name: ClassVar[str] = "distinct"
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        spec = narrow(rule, DistinctRule)
        self.grid = Grid.of(spec.window)
        self.width, self.span = self.grid.width, self.grid.span
        self.get = operator.attrgetter(spec.field)
        self.watches_all = spec.min_volume > 0

    def new_key(self) -> Spread:
        """Empty set."""
        return Spread(seen=Buckets() if self.watches_all else None)

    def observe(self, facts: Facts, matched: bool, data: Spread) -> Reading | None:
        """Add the CDR's value; read the cardinality when it matched."""
        bucket, span = facts.t // self.width, self.span
        if data.seen is not None:
            data.seen.add(bucket, 0.0, span)
        if not matched or not data.values.add(str(self.get(facts)), bucket, span):
            return None
        count = float(data.values.count)
        volume = data.seen.count if data.seen is not None else count
        return Reading(count, volume, "", read_at(facts.t, data.values.head, self.width))

    def tick(self, data: Spread, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Spread, now: int) -> bool:
        """Evictable once the window is past."""
        head = now // self.width
        seen_gone = data.seen is None or data.seen.empty_at(head, self.span)
        return bool(data.values.empty_at(head, self.span) and seen_gone)
