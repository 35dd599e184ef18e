"""`threshold`: the count (or sum of a field) of matching CDRs per key over a sliding window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, KindContext, Reading, amount_of, narrow
from detector.rules.spec import AnyRule, ThresholdRule
from detector.windows import Buckets


@dataclass(slots=True)
class Volume:
    """Matching CDRs (`hits`) and, when a volume floor is set, all CDRs of the key."""

    hits: Buckets = field(default_factory=Buckets)
    seen: Buckets | None = None


class Threshold:
    """Count or sum per key; volume = all CDRs of the key when `min_volume` is set."""

    name: ClassVar[str] = "threshold"
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        spec = narrow(rule, ThresholdRule)
        self.grid = Grid.of(spec.window)
        self.width, self.span = self.grid.width, self.grid.span
        self.amount = amount_of(spec.aggregate)
        self.watches_all = spec.min_volume > 0 or any(o.min_volume for o in spec.overrides.values())

    def new_key(self) -> Volume:
        """Empty windows."""
        return Volume(seen=Buckets() if self.watches_all else None)

    def observe(self, facts: Facts, matched: bool, data: Any) -> Reading | None:
        """Add the CDR; read the window when it matched."""
        bucket, span = facts.t // self.width, self.span
        if data.seen is not None:
            data.seen.add(bucket, 0.0, span)
        if not matched:
            return None
        hits: Buckets = data.hits
        if not hits.add(bucket, self.amount(facts) if self.amount else 0.0, span):
            return None
        value = hits.total if self.amount else hits.count
        return Reading(value, data.seen.count if data.seen is not None else hits.count)

    def tick(self, data: Any, now: int) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Any, now: int) -> bool:
        """Evictable once both windows are past."""
        head = now // self.width
        seen_gone = data.seen is None or data.seen.empty_at(head, self.span)
        return bool(data.hits.empty_at(head, self.span) and seen_gone)
