"""A bucketed sliding window of counts and sums on event time.

Time (epoch seconds) is cut into buckets of `width` seconds; the window is the `span` buckets
ending at the newest bucket seen (`head`). A value lands in bucket ``t // width``. A value
older than the window (bucket ``<= head - span``) is ignored and reported as late; a value in
an open bucket updates it whatever the arrival order, so the final state depends only on the
set of values, never on their order.

>>> w = Buckets()
>>> width, span = 60, span_of(300, 60)
>>> [w.add(t // width, 1.0, span) for t in (0, 30, 130)]
[True, True, True]
>>> w.count, w.total
(3.0, 3.0)
>>> w.add(400 // width, 1.0, span)  # bucket 6 pushes bucket 0 out of the 5-bucket window
True
>>> w.count
2.0
>>> w.add(10 // width, 1.0, span)   # too late: its bucket already left the window
False
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_WIDTH_S = 10
"""Smallest bucket: finer resolution buys nothing for CDR windows and costs memory."""

RESOLUTION = 30
"""Buckets per window: the window edge is exact to within 1/30 of its length."""

NEVER = -(2**62)
"""`head` of a window that has seen nothing."""


def bucket_width(window_s: float) -> int:
    """Bucket width for a window: window/30, at least 10 s.

    >>> bucket_width(3600), bucket_width(60), bucket_width(300)
    (120, 10, 10)
    """
    return max(MIN_WIDTH_S, int(window_s // RESOLUTION))


def span_of(window_s: float, width: int) -> int:
    """Number of buckets that cover `window_s` (rounded up).

    >>> span_of(3600, 120), span_of(65, 10)
    (30, 7)
    """
    return max(1, -(-int(window_s) // width))


@dataclass(slots=True)
class Buckets:
    """Count and sum of values per bucket, with running totals over the window.

    `low` is the oldest bucket in `cells`, so a new newest bucket costs no scan of the cells
    unless one of them actually left the window. Cells leave in insertion order, as they
    always have, so the running sums are the same bit for bit.
    """

    head: int = NEVER
    cells: dict[int, list[float]] = field(default_factory=dict)
    count: float = 0.0
    total: float = 0.0
    low: int = NEVER
    """The oldest bucket in `cells` (meaningless while `cells` is empty)."""

    def add(self, bucket: int, value: float, span: int, n: float = 1.0) -> bool:
        """Add `n` events summing to `value` in `bucket`; False (ignored) when too late."""
        head = self.head
        cells = self.cells
        if bucket > head:  # the common case: a new newest bucket
            self.head = bucket
            if cells and self.low <= bucket - span:
                self._drop(bucket - span, head)
            if not cells:
                self.low = bucket
            cells[bucket] = [n, value]
        elif bucket <= head - span:
            return False
        else:
            cell = cells.get(bucket)
            if cell is not None:
                cell[0] += n
                cell[1] += value
            else:
                if not cells or bucket < self.low:
                    self.low = bucket
                cells[bucket] = [n, value]
        self.count += n
        self.total += value
        return True

    def slide(self, head: int, span: int) -> None:
        """Move the window's end forward to `head` and drop the buckets that fell out."""
        if head > self.head:
            previous, self.head = self.head, head
            self._drop(head - span, previous)

    def _drop(self, floor: int, previous: int) -> None:
        cells = self.cells
        if floor >= previous:  # the whole old window is gone
            cells.clear()
        elif self.low <= floor:
            for b in [b for b in cells if b <= floor]:
                n, x = cells.pop(b)
                self.count -= n
                self.total -= x
            if cells:
                self.low = min(cells)
        if not cells:
            self.count = self.total = 0.0

    def count_at(self, head: int, span: int) -> float:
        """Events in the window ending at `head` (no mutation; for watermark checks)."""
        floor = head - span
        return sum(c[0] for b, c in self.cells.items() if floor < b <= head)

    def empty_at(self, head: int, span: int) -> bool:
        """True when nothing of this window would survive at `head`."""
        cells = self.cells
        floor = head - span
        if not cells or self.head <= floor:  # no cell is newer than `self.head`
            return True
        if self.head in cells:  # then `self.head` is the newest cell
            return False
        return all(b <= floor for b in cells)
