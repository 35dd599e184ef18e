"""`sequence`: a `first` CDR then a `then` CDR sharing a `join` value within `within`.

Wangiri is the model case: one-ring inbound calls from foreign numbers (`first`, joined on the
peer number), then outbound callbacks to those same numbers (`then`). The value is the number
of completed sequences in the window.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, Kind, KindContext, Reading, narrow
from detector.rules.predicate import compile_predicate
from detector.rules.spec import AnyRule, SequenceRule
from detector.windows import Buckets
from detector.windows.clock import LocalHours

MAX_OPEN = 1024
"""Most `first` values remembered per key."""


@dataclass(slots=True)
class Pending:
    """Join value → newest `first` time, and the window of completed sequences."""

    firsts: dict[str, int] = field(default_factory=dict)
    done: Buckets = field(default_factory=Buckets)


class Sequence(Kind[Pending]):
    """Value = completed `first` → `then` sequences in the window."""

    name: ClassVar[str] = "sequence"
    watches_all = False
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, ctx: KindContext) -> None:
        spec = narrow(rule, SequenceRule)
        self.grid = Grid.of(spec.window)
        self.width, self.span = self.grid.width, self.grid.span
        self.first = compile_predicate(spec.first, ctx.lists, "first")
        self.then = compile_predicate(spec.then, ctx.lists, "then")
        self.join = operator.attrgetter(spec.join)
        self.within = int(spec.within)

    def new_key(self) -> Pending:
        """Nothing open."""
        return Pending()

    def observe(self, facts: Facts, matched: bool, data: Pending) -> Reading | None:
        """Open a sequence on `first`; complete it on `then`."""
        if not matched:
            return None
        joined = str(self.join(facts))
        if self.first(facts):
            self._open(data, joined, facts.t)
        if not self.then(facts):
            return None
        opened = data.firsts.get(joined)
        if opened is None or not 0 <= facts.t - opened <= self.within:
            return None
        if not data.done.add(facts.t // self.width, 0.0, self.span):
            return None
        return Reading(data.done.count, data.done.count, f"callback to {joined}")

    def _open(self, data: Pending, joined: str, t: int) -> None:
        if joined not in data.firsts and len(data.firsts) >= MAX_OPEN:
            horizon = t - self.within
            for key in [k for k, v in data.firsts.items() if v < horizon]:
                del data.firsts[key]
            if len(data.firsts) >= MAX_OPEN:
                return
        data.firsts[joined] = max(t, data.firsts.get(joined, t))

    def tick(self, data: Pending, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Pending, now: int) -> bool:
        """Evictable when no sequence can complete and none is in the window."""
        gone = all(now - t > self.within for t in data.firsts.values())
        return bool(gone and data.done.empty_at(now // self.width, self.span))
