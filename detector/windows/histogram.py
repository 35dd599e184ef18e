"""A key's distribution of a positive quantity (talk time, say), in logarithmic bins.

Four bins per doubling (each ~19 % wide) from 0 to millions, stored sparsely, so a key whose
calls last 30 s to 3 min holds a dozen numbers. `limit(q)` is the first bin at or beyond which
at most ``1 - q`` of the history lies, and `beyond(b)` the share of history in bins ``>= b``:
together they say "calls this long are this rare for this key", which is what a duration rule
needs to judge an account against itself. Old history is forgotten by halving every bin once the
total passes `MEMORY`, so the distribution follows an account that changes.

>>> h = LogHistogram()
>>> for x in [60.0] * 95 + [600.0] * 5:
...     h.add(x)
>>> b = h.limit(0.95)                      # 5 % of calls lie at or beyond bin b ...
>>> b == bin_of(60.0) + 1, round(h.beyond(b), 3)
(True, 0.054)
>>> h.limit(0.99) == bin_of(600.0) + 1     # ... and 1 % beyond the longest calls seen
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from detector.windows.positional import Positional

PER_DOUBLING = 4
MEMORY = 4000.0
"""Calls of history before every bin is halved (the distribution's memory)."""


def bin_of(x: float) -> int:
    """The bin of a value (values below 0 count as 0).

    >>> bin_of(0.0), bin_of(1.0), bin_of(3600.0)
    (0, 4, 47)
    """
    return int(PER_DOUBLING * math.log2(1.0 + max(x, 0.0)))


def lower_edge(b: int) -> float:
    """The smallest value of bin `b`.

    >>> lower_edge(4), round(lower_edge(47))
    (1.0, 3443)
    """
    return float(2.0 ** (b / PER_DOUBLING) - 1.0)


@dataclass(slots=True)
class LogHistogram(Positional):
    """Counts per logarithmic bin (sparse) and their total (pickled by position)."""

    bins: dict[int, float] = field(default_factory=dict)
    total: float = 0.0

    def add(self, x: float) -> None:
        """Count one value; halve everything once the total passes `MEMORY`."""
        b = bin_of(x)
        self.bins[b] = self.bins.get(b, 0.0) + 1.0
        self.total += 1.0
        if self.total > MEMORY:
            self.bins = {k: v / 2.0 for k, v in self.bins.items() if v >= 1.0}
            self.total = sum(self.bins.values())

    def limit(self, q: float) -> int:
        """The lowest bin `b` with at most ``(1 - q) * total`` of the history in bins ``>= b``."""
        allowed = (1.0 - q) * self.total
        above = 0.0
        for b in sorted(self.bins, reverse=True):
            if above + self.bins[b] > allowed:
                return b + 1
            above += self.bins[b]
        return min(self.bins, default=0)

    def beyond(self, b: int) -> float:
        """Share of the history in bins ``>= b``, smoothed so it is never 0 (half a call)."""
        mass = sum(v for k, v in self.bins.items() if k >= b)
        return (mass + 0.5) / (self.total + 1.0)
