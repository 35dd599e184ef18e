"""A bucketed sliding window of counts and sums on event time, with retention for late values.

Time (epoch seconds) is cut into buckets of `width` seconds; the window is the `span` buckets
ending at the newest bucket seen (`head`). A value lands in bucket ``t // width``. The running
`count` and `total` are those of the window ending at `head`; a value in an open bucket updates
them whatever the arrival order, so the final state depends only on the set of values.

The owner may also ask to `keep` that many buckets older than the window (its allowed lateness
in buckets): cells leaving the window move to `kept`, and a late value in those buckets updates
its cell there, outside `count`/`total`, so the windows that contain it (ending before `head`)
can be read back (`sums_at`). `older` and `older_total` are the running sums of `kept`, so
``count + older`` bounds every window that ends at or before `head` in O(1). A value in a
bucket ``<= head - span - keep`` is ignored and reported (`add` returns `IGNORED`, 0). Kept
cells leave the retention in batches when the window moves (so a new newest bucket that moves
no cell costs no more than without a retention); until then `older` may still count them,
which only makes the bound looser.

>>> w = Buckets()
>>> width, span = 60, span_of(300, 60)
>>> [w.add(t // width, 1.0, span) for t in (0, 30, 130)]  # NEWEST
[1, 1, 1]
>>> w.count, w.total
(3.0, 3.0)
>>> w.add(400 // width, 1.0, span)  # bucket 6 pushes bucket 0 out of the 5-bucket window
1
>>> w.count
2.0
>>> w.add(10 // width, 1.0, span)   # too late: its bucket already left the window (IGNORED)
0
>>> r = Buckets()
>>> [r.add(b, 1.0, 2, keep=2) for b in (0, 3, 1, 0)]  # window 2..3, retention 0..1: KEPT
[1, 1, 3, 3]
>>> r.count, r.older, r.kept, r.sums_at([0, 1, 3], 2)
(1.0, 3.0, {0: [2.0, 2.0], 1: [1.0, 1.0]}, [(2.0, 2.0), (3.0, 3.0), (1.0, 1.0)])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from detector.windows.positional import Positional

MIN_WIDTH_S = 10
"""Smallest bucket: finer resolution buys nothing for CDR windows and costs memory."""

RESOLUTION = 30
"""Buckets per window: the window edge is exact to within 1/30 of its length."""

NEVER = -(2**62)
"""`head` of a window that has seen nothing."""
NONE = 2**62
"""`first` of an empty retention."""
IGNORED, NEWEST, LATE, KEPT = 0, 1, 2, 3
"""What `add` did with a value (`IGNORED` is falsy)."""


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
class Buckets(Positional):
    """Count and sum of values per bucket, with running totals over the window and retention.

    `cells` holds the window and `kept` the retained cells before it. `low` is the oldest
    bucket in `cells`, so a new newest bucket costs no scan of the cells unless one of them
    actually left the window; `first`, a lower bound of `kept`, spares most scans of `kept`.
    Cells leave in insertion order, as they always have; while `cells` was filled oldest
    first (`ordered`: no late value opened a cell since it was last empty), those leaving are
    its first ones, so a new newest bucket reads only them, not every cell.
    """

    head: int = NEVER
    cells: dict[int, list[float]] = field(default_factory=dict)
    count: float = 0.0
    total: float = 0.0
    low: int = NEVER
    """The oldest bucket in `cells` (meaningless while `cells` is empty)."""
    kept: dict[int, list[float]] = field(default_factory=dict)
    """Retained cells older than the window (buckets ``<= head - span``), for late values."""
    older: float = 0.0
    """Events in `kept`."""
    older_total: float = 0.0
    """Sum of the values in `kept`."""
    first: int = NONE
    """No bucket in `kept` is older than `first`; `NONE` while it is empty."""
    ordered: bool = field(default=True, init=False, compare=False, repr=False)
    """True while the buckets of `cells` ascend in insertion order (derived, not pickled)."""

    def add(self, bucket: int, value: float, span: int, n: float = 1.0, keep: int = 0) -> int:
        """Add `n` events summing to `value` in `bucket`: `NEWEST` (the bucket is the newest),
        `LATE` (an older bucket of the window), `KEPT` (older than the window, retained) or
        `IGNORED` (0, older than the retention).

        `keep` is the retention beyond the window, in buckets; the same `span` and `keep`
        must be passed on every call.
        """
        head = self.head
        cells = self.cells
        if bucket >= head:  # the common case: the newest bucket
            if bucket > head:
                self.head = bucket
                if cells and self.low <= bucket - span:
                    self._advance(bucket, head, span, keep)
                if not cells:
                    self.low = bucket
                cells[bucket] = [n, value]
            elif (cell := cells.get(bucket)) is not None:
                cell[0] += n
                cell[1] += value
            else:  # only after `slide` moved the head to an empty bucket
                if not cells:
                    self.low = bucket
                cells[bucket] = [n, value]
            self.count += n
            self.total += value
            return NEWEST
        if bucket <= head - span:
            if bucket <= head - span - keep:
                return IGNORED
            _put(self.kept, bucket, value, n)
            self.first = min(self.first, bucket)
            self.older += n
            self.older_total += value
            return KEPT
        if _put(cells, bucket, value, n):
            self.ordered = False  # a cell opened behind newer ones
            self.low = min(self.low, bucket)
        self.count += n
        self.total += value
        return LATE

    def slide(self, head: int, span: int, keep: int = 0) -> None:
        """Move the window's end forward to `head` and drop the buckets that fell out."""
        if head > self.head:
            previous, self.head = self.head, head
            if self.cells and self.low <= head - span:
                self._advance(head, previous, span, keep)

    def _advance(self, head: int, previous: int, span: int, keep: int) -> None:
        """`head` replaced `previous`: cells leave the window (for `kept` when keeping), and
        kept cells that left the retention are forgotten, in batches."""
        cells, kept = self.cells, self.kept
        floor = head - span  # cells <= floor are out of the window
        gone = floor - keep  # cells <= gone are out of the retention
        if gone >= previous:  # every old cell is gone
            cells.clear()
            kept.clear()
        else:
            if not kept:
                self.first = gone + 1  # every cell moved below is newer than `gone`
            # the running sums in locals: the same subtractions in the same order, fewer stores
            count, total, older, older_total = self.count, self.total, self.older, self.older_total
            for b in self._leaving(floor):
                n, x = cell = cells.pop(b)
                count -= n
                total -= x
                if b > gone:
                    kept[b] = cell
                    older += n
                    older_total += x
            if self.first <= gone - keep:  # kept cells <= gone leave, once every `keep` buckets
                for b in [b for b in kept if b <= gone]:
                    n, x = kept.pop(b)
                    older -= n
                    older_total -= x
                self.first = gone + 1
            self.count, self.total, self.older, self.older_total = count, total, older, older_total
            if cells:
                self.low = next(iter(cells)) if self.ordered else min(cells)
        if not cells:
            self.count = self.total = 0.0
            self.ordered = True
        if not kept:
            self.older = self.older_total = 0.0
            self.first = NONE

    def _leaving(self, floor: int) -> list[int]:
        """The buckets of `cells` at or below `floor`, in insertion order."""
        if not self.ordered:
            return [b for b in self.cells if b <= floor]
        leaving = []
        for b in self.cells:  # oldest first: stop at the first cell still in the window
            if b > floor:
                break
            leaving.append(b)
        return leaving

    def sums_at(self, ends: Sequence[int], span: int) -> list[tuple[float, float]]:
        """(count, total) of the window ending at each of `ends` (ascending); no mutation.

        For the late path: exact for windows whose cells are all still retained.
        """
        cells = {**self.kept, **self.cells}
        out: list[tuple[float, float]] = []
        n = x = 0.0
        previous = NEVER
        for end in ends:
            if end - previous >= span:  # no overlap with the previous window: sum afresh
                n = x = 0.0
                for b in _present(cells, end - span, end):
                    n += cells[b][0]
                    x += cells[b][1]
            else:  # slide: buckets (previous, end] come in, (previous - span, end - span] go
                for b in _present(cells, previous, end):
                    n += cells[b][0]
                    x += cells[b][1]
                for b in _present(cells, previous - span, end - span):
                    n -= cells[b][0]
                    x -= cells[b][1]
            out.append((n, x))
            previous = end
        return out

    def window_at(self, end: int, span: int) -> dict[int, list[float]]:
        """The cells (bucket: [count, total]) of the window ending at `end`; no mutation."""
        both = {**self.kept, **self.cells}
        return {b: both[b] for b in _present(both, end - span, end)}

    def holding(self, first: int, last: int) -> list[int]:
        """The buckets in [first, last] that hold events (window or retention), ascending."""
        both = {**self.kept, **self.cells}
        return _present(both, first - 1, last)

    def count_at(self, head: int, span: int) -> float:
        """Events in the window ending at `head` (no mutation; for watermark checks)."""
        floor = head - span
        return sum(c[0] for b, c in self.cells.items() if floor < b <= head)

    def empty_at(self, head: int, span: int) -> bool:
        """True when nothing of this window would survive at `head` (pass ``span + keep``
        to ask about the retention too)."""
        cells = self.cells
        floor = head - span
        newest = self.head
        if newest > floor and newest in cells:  # the newest cell survives (a live window)
            return False
        if self.kept and any(b > floor for b in self.kept):
            return False
        if not cells or newest <= floor:  # no cell is newer than `self.head`
            return True
        return all(b <= floor for b in cells)

    def clear_at(self, head: int, span: int) -> bool:
        """When nothing of the window survives at `head` (`span` as for `empty_at`), drop its
        cells and totals, keeping `head` so a late value is judged as before; True if empty.

        >>> w = Buckets()
        >>> _ = w.add(10, 2.0, 5)
        >>> w.clear_at(12, 5), w.clear_at(20, 5), w.cells, w.head
        (False, True, {}, 10)
        """
        if not self.empty_at(head, span):
            return False
        self.cells, self.count, self.total, self.low = {}, 0.0, 0.0, NEVER
        self.kept, self.older, self.older_total, self.first = {}, 0.0, 0.0, NONE
        self.ordered = True
        return True

    def _restored(self) -> None:
        """After unpickling (by position, or the named form of earlier releases): whether the
        cells ascend. A swept window pickles as its head alone (`Positional`)."""
        self.ordered = all(a < b for a, b in pairwise(self.cells))


def _put(cells: dict[int, list[float]], bucket: int, value: float, n: float) -> bool:
    """Add to the cell of `bucket`; True when the cell is new."""
    cell = cells.get(bucket)
    if cell is None:
        cells[bucket] = [n, value]
        return True
    cell[0] += n
    cell[1] += value
    return False


def _present(cells: dict[int, list[float]], after: int, upto: int) -> list[int]:
    """The buckets of `cells` in (after, upto], oldest first (a walk or a scan, the cheaper)."""
    if upto - after <= len(cells):
        return [b for b in range(after + 1, upto + 1) if b in cells]
    return sorted(b for b in cells if after < b <= upto)
