"""`match`: one CDR is enough (premium destination, a call over 4 h, a hot-listed prefix)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Kind, KindContext, Reading, narrow
from detector.rules.spec import AnyRule, MatchRule
from detector.windows.clock import LocalHours


@dataclass(slots=True)
class LastSeen:
    """Event time (epoch s) of the key's newest matching CDR."""

    t: int = 0


class Single(Kind[LastSeen]):
    """Value = the CDR's `value` field (or 1) for each matching CDR."""

    name: ClassVar[str] = "match"
    watches_all = False
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        spec = narrow(rule, MatchRule)
        self.field = spec.value
        self.window = int(spec.window)

    def new_key(self) -> LastSeen:
        """Nothing seen yet."""
        return LastSeen()

    def observe(self, facts: Facts, matched: bool, data: LastSeen) -> Reading | None:
        """Read the matching CDR itself."""
        if not matched:
            return None
        data.t = max(data.t, facts.t)
        value = float(getattr(facts, self.field)) if self.field else 1.0
        return Reading(value, 1.0)

    def tick(self, data: LastSeen, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: LastSeen, now: int) -> bool:
        """Evictable a window after the last match."""
        return bool(now - data.t > self.window)
