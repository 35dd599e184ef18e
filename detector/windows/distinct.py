"""Exact distinct count of values in a sliding bucketed window, bounded in size.

Each value remembers the newest bucket it was seen in; sliding the window drops values whose
newest bucket left it. Past `cap` values the set stops growing and reports `saturated`: the
count is then a lower bound, which is all a threshold needs.

>>> d = Distinct()
>>> [d.add(v, b, span=3) for v, b in (("a", 0), ("b", 1), ("a", 2))]
[True, True, True]
>>> d.count
2
>>> d.add("c", 4, span=3)  # window is now buckets 2..4: "b" (bucket 1) left it
True
>>> sorted(d.last)
['a', 'c']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.windows.buckets import NEVER

DEFAULT_CAP = 2048
"""Most distinct values tracked per key; enough for any threshold a person would write."""


@dataclass(slots=True)
class Distinct:
    """Value → newest bucket seen, for the values inside the window."""

    head: int = NEVER
    last: dict[str, int] = field(default_factory=dict)
    saturated: bool = False
    low: int = NEVER
    """At most the oldest bucket in `last`: a slide whose floor is below it drops nothing."""

    @property
    def count(self) -> int:
        """Distinct values in the window (a lower bound when saturated)."""
        return len(self.last)

    def add(self, value: str, bucket: int, span: int, cap: int = DEFAULT_CAP) -> bool:
        """Record `value` seen in `bucket`; False (ignored) when the bucket is too late."""
        if bucket <= self.head - span:
            return False
        if bucket > self.head:
            self.slide(bucket, span)
        seen = self.last.get(value)
        if seen is None:
            if len(self.last) >= cap:
                self.saturated = True
                return True
            self.last[value] = bucket
            self.low = min(self.low, bucket)
        elif bucket > seen:
            self.last[value] = bucket
        return True

    def slide(self, head: int, span: int) -> None:
        """Move the window's end forward to `head`, forgetting values last seen before it."""
        if head <= self.head:
            return
        self.head = head
        floor = head - span
        if floor < self.low:  # nothing is that old: no scan
            return
        last = self.last
        stale = [v for v, b in last.items() if b <= floor]
        for v in stale:
            del last[v]
        if stale:
            self.saturated = False
        self.low = min(last.values(), default=head)

    def empty_at(self, head: int, span: int) -> bool:
        """True when no value would remain in the window ending at `head`."""
        return all(b <= head - span for b in self.last.values())
