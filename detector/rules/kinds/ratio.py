"""`ratio`: share of a key's matching CDRs that also satisfy `where`, with a minimum volume."""

from __future__ import annotations

from typing import Any, ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, KindContext, Reading, narrow
from detector.rules.predicate import compile_predicate
from detector.rules.spec import AnyRule, RatioRule
from detector.windows import Buckets


class Ratio:
    """Value = part / population over the window; volume = population (one window holds both)."""

    name: ClassVar[str] = "ratio"
    watches_all = False
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, ctx: KindContext) -> None:
        spec = narrow(rule, RatioRule)
        self.grid = Grid.of(spec.window)
        self.width, self.span = self.grid.width, self.grid.span
        self.where = compile_predicate(spec.where, ctx.lists, "where")

    def new_key(self) -> Buckets:
        """Empty window: `count` is the population, `total` the part satisfying `where`."""
        return Buckets()

    def observe(self, facts: Facts, matched: bool, data: Any) -> Reading | None:
        """Count the CDR in the population and, when `where` holds, in the part."""
        if not matched:
            return None
        part = 1.0 if self.where(facts) else 0.0
        if not data.add(facts.t // self.width, part, self.span):
            return None
        total = data.count
        return Reading(data.total / total, total)

    def tick(self, data: Any, now: int) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Any, now: int) -> bool:
        """Evictable once the population window is past."""
        return bool(data.empty_at(now // self.width, self.span))
