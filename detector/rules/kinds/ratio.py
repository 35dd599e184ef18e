"""`ratio`: share of a key's matching CDRs that also satisfy `where`, with a minimum volume.

A CDR in order reads the window ending at the newest bucket. A late CDR (an older bucket,
still retained) reads the *peak share among the windows that meet the account's `min_volume`*,
over the windows that contain it and end at or before the newest bucket, at buckets holding
CDRs of the key (where an in-order stream reads), plus the newest window itself, stamped at
the end of the window it came from (`Reading.at`). A window
below the volume floor cannot emit, so it must not win (a lone late CDR would read 100 %);
among the windows that can emit, severity grows with the share, so the highest share gives the
highest severity. Windows ending at empty buckets are left out on purpose: a share is not
monotone in the window's contents, and such a window (older CDRs slid out, none came in) is
one no in-order stream would have read. The peak is computed only when the O(1) bounds can
reach the lowest `min_volume` (population ``count + older``) and threshold (part
``total + older_total`` over that volume); otherwise the newest window is read.
"""

from __future__ import annotations

from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import (
    Floors,
    Grid,
    Kind,
    KindContext,
    Reading,
    late_ends,
    narrow,
    read_at,
)
from detector.rules.predicate import compile_predicate
from detector.rules.spec import AnyRule, RatioRule
from detector.windows import Buckets
from detector.windows.buckets import NEWEST
from detector.windows.clock import LocalHours


class Ratio(Kind[Buckets]):
    """Value = part / population over the window; volume = population (one window holds both)."""

    name: ClassVar[str] = "ratio"
    watches_all = False
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, ctx: KindContext) -> None:
        spec = narrow(rule, RatioRule)
        self.grid = Grid.of(spec.window, ctx.lateness_s)
        self.width, self.span, self.keep = self.grid.width, self.grid.span, self.grid.keep
        self.where = compile_predicate(spec.where, ctx.lists, "where")
        self.floors = Floors.of(spec)

    def new_key(self) -> Buckets:
        """Empty window: `count` is the population, `total` the part satisfying `where`."""
        return Buckets()

    def observe(self, facts: Facts, matched: bool, data: Buckets) -> Reading | None:
        """Count the CDR in the population and, when `where` holds, in the part."""
        if not matched:
            return None
        return self.read(facts, 1.0 if self.where(facts) else 0.0, data)

    def read(self, facts: Facts, part: float, window: Buckets) -> Reading | None:
        """Add a matching CDR (`part` 1 when it satisfies `where`) and read the window: the
        newest one in order, the peak of its windows when late (see the module docstring)."""
        done = window.add(facts.t // self.width, part, self.span, 1.0, self.keep)
        if done == NEWEST:  # the hot path
            total = window.count
            return Reading(window.total / total, total)
        return self.late(done, facts, window)

    def late(self, done: int, facts: Facts, window: Buckets) -> Reading | None:
        """The reading after `window.add` placed a CDR in an older bucket (`done`: what `add`
        returned, not `NEWEST`): None when ignored, else the peak or the newest window."""
        if not done:
            return None  # older than the retention (the Detector counts it as late)
        if self._may_fire(window):
            return self._peak(facts.account, facts.t, window)
        return self._newest(facts.t, window)

    def _newest(self, t: int, window: Buckets) -> Reading | None:
        """The newest window's reading (stamped at its end); None when the CDR at `t` is not
        in it (nothing changed)."""
        if t // self.width <= window.head - self.span:
            return None
        total = window.count
        return Reading(window.total / total, total, "", read_at(t, window.head, self.width))

    def _may_fire(self, window: Buckets) -> bool:
        """True when some retained window may meet the lowest volume and threshold (O(1))."""
        floors = self.floors
        volume = window.count + window.older
        part = window.total + window.older_total
        return volume >= floors.volume and min(1.0, part / max(floors.volume, 1.0)) >= floors.level

    def _peak(self, account: str, t: int, window: Buckets) -> Reading | None:
        """The highest share among the late windows of the CDR at `t` (see `late_ends`) that
        meet `account`'s volume, stamped at that window's end; the newest window's reading
        when none does."""
        need = self.floors.volume_of(account)
        best: Reading | None = None
        ends = late_ends(window, t // self.width, self.span)
        for end, (population, part) in zip(ends, window.sums_at(ends, self.span), strict=True):
            if population >= need and population > 0:
                share = part / population
                if best is None or share > best.value:
                    best = Reading(share, population, "", read_at(t, end, self.width))
        return best if best is not None else self._newest(t, window)

    def tick(self, data: Buckets, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Buckets, now: int) -> bool:
        """Evictable once the population window and its retention (late CDRs) are past."""
        return bool(data.empty_at(now // self.width, self.span + self.keep))
