"""`threshold`: the count (or sum of a field) of matching CDRs per key over a sliding window.

A CDR in order (its bucket at or after the key's newest matching one) reads the window ending
at the newest bucket, as it always has. A late CDR (an older bucket, still retained: see
`Grid.keep`) reads the *peak* of the windows that contain it and end at or before the newest
bucket, at the buckets holding matching CDRs (where an in-order stream reads), plus the newest
window itself (so a late CDR never reads lower than the key's current state). The peak is the
highest value among those windows whose volume meets the account's `min_volume`: the severity
is monotone in the value once the volume is met, so that window gives the highest severity any
of them can; the reading is stamped at that window's end (`Reading.at`), not at the late
CDR's own start. It is computed only when ``count + older`` (an O(1) bound on every retained
window) can reach the rule's lowest threshold and volume floor; otherwise the CDR reads the
newest window as before. Summed fields are assumed non-negative (the bound relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import (
    Floors,
    Grid,
    Kind,
    KindContext,
    Reading,
    amount_of,
    late_ends,
    narrow,
    read_at,
)
from detector.rules.spec import AnyRule, ThresholdRule
from detector.windows import Buckets
from detector.windows.buckets import NEWEST
from detector.windows.clock import LocalHours


@dataclass(slots=True)
class Volume:
    """Matching CDRs (`hits`) and, when a volume floor is set, all CDRs of the key."""

    hits: Buckets = field(default_factory=Buckets)
    seen: Buckets | None = None


class Threshold(Kind[Volume]):
    """Count or sum per key; volume = all CDRs of the key when `min_volume` is set."""

    name: ClassVar[str] = "threshold"
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, ctx: KindContext) -> None:
        spec = narrow(rule, ThresholdRule)
        self.grid = Grid.of(spec.window, ctx.lateness_s)
        self.width, self.span, self.keep = self.grid.width, self.grid.span, self.grid.keep
        self.amount = amount_of(spec.aggregate)
        self.watches_all = spec.min_volume > 0 or any(o.min_volume for o in spec.overrides.values())
        self.floors = Floors.of(spec)

    def new_key(self) -> Volume:
        """Empty windows."""
        return Volume(seen=Buckets() if self.watches_all else None)

    def observe(self, facts: Facts, matched: bool, data: Volume) -> Reading | None:
        """Add the CDR; read the window (or, for a late CDR, the peak) when it matched."""
        bucket, span, keep = facts.t // self.width, self.span, self.keep
        seen: Buckets | None = data.seen
        if seen is not None:
            seen.add(bucket, 0.0, span, 1.0, keep)
        if not matched:
            return None
        hits: Buckets = data.hits
        done = hits.add(bucket, self.amount(facts) if self.amount else 0.0, span, 1.0, keep)
        if done == NEWEST:  # the hot path
            value = hits.total if self.amount else hits.count
            return Reading(value, seen.count if seen is not None else hits.count)
        if not done:
            return None  # older than the retention (the Detector counts it as late)
        if self._may_fire(hits, seen):
            return self._peak(facts.account, facts.t, hits, seen)
        return self._newest(facts.t, hits, seen)

    def _newest(self, t: int, hits: Buckets, seen: Buckets | None) -> Reading | None:
        """The reading of the newest window (stamped at its end); None when the CDR at `t` is
        not in it (nothing changed)."""
        if t // self.width <= hits.head - self.span:
            return None
        value = hits.total if self.amount else hits.count
        volume = seen.count if seen is not None else hits.count
        return Reading(value, volume, "", read_at(t, hits.head, self.width))

    def _may_fire(self, hits: Buckets, seen: Buckets | None) -> bool:
        """True when some retained window may reach the lowest threshold and volume (O(1))."""
        floors = self.floors
        bound = hits.total + hits.older_total if self.amount else hits.count + hits.older
        volume = hits.count + hits.older if seen is None else seen.count + seen.older
        return bound >= floors.level and volume >= floors.volume

    def _peak(self, account: str, t: int, hits: Buckets, seen: Buckets | None) -> Reading | None:
        """The highest reading that meets `account`'s volume among the late windows of the
        CDR at `t` (see `late_ends`), stamped at that window's end; the newest window's
        reading when none meets it."""
        ends = late_ends(hits, t // self.width, self.span)
        values = hits.sums_at(ends, self.span)
        volumes = values if seen is None else seen.sums_at(ends, self.span)
        need = self.floors.volume_of(account)
        best: Reading | None = None
        for end, (n, x), (volume, _) in zip(ends, values, volumes, strict=True):
            value = x if self.amount else n
            if volume >= need and (best is None or value > best.value):
                best = Reading(value, volume, "", read_at(t, end, self.width))
        return best if best is not None else self._newest(t, hits, seen)

    def tick(self, data: Volume, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def expired(self, data: Volume, now: int) -> bool:
        """Evictable once both windows and their retention (for late CDRs) are past."""
        head, held = now // self.width, self.span + self.keep
        seen_gone = data.seen is None or data.seen.empty_at(head, held)
        return bool(data.hits.empty_at(head, held) and seen_gone)
