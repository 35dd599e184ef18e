"""A small text histogram with marked levels (a rule's thresholds), for terminal reports.

Bins are slices of a round width from the lowest value (or 0) past the highest value or level;
each level starts a bin of its own, so a level line falls exactly between the values below it
and those at or above it. Bars are scaled to the fullest bin, and any non-empty bin shows at
least one block, so a handful of outliers stays visible next to thousands of ordinary values.

>>> print("\\n".join(text_histogram([1, 2, 2, 3, 9], [(5, "warning")], bins=4, width=8)))
  0 – 2.5  ████████  3
2.5 –   5  ███       1
── warning 5
  5 – 7.5            0
7.5 –  10  ███       1
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence


def number(value: float) -> str:
    """A value as people read it: ``12,345``, ``0.76``, ``3``.

    >>> number(12345.6), number(0.7612), number(3.0), number(-0.25)
    ('12,346', '0.761', '3', '-0.25')
    """
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3g}"


def edges_for(values: Sequence[float], levels: Sequence[float], bins: int) -> list[float]:
    """Bin edges: about `bins` slices of a round width (1, 2, 2.5 or 5 times a power of ten)
    covering the values and levels, plus each level, ascending."""
    low = min([0.0, *values, *levels])
    high = max([*values, *levels, low])
    raw = (high - low) / bins or 1.0
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    count = max(1, math.ceil((high - first) / step - 1e-9))
    marks = [first + step * i for i in range(count + 1)]
    marks = [m for m in marks if all(abs(m - level) >= step / 4 for level in levels)]
    return sorted({*marks, *levels, first, first + step * count})


def text_histogram(
    values: Sequence[float], levels: Sequence[tuple[float, str]], bins: int = 10, width: int = 30
) -> list[str]:
    """Lines of a histogram of `values`, with a line before the bin each level starts."""
    edges = edges_for(values, [level for level, _ in levels], bins)
    counts = [0] * (len(edges) - 1)
    for value in values:
        counts[min(bisect_right(edges, value) - 1, len(counts) - 1)] += 1
    fullest = max(counts, default=0) or 1
    left = max(len(number(e)) for e in edges)
    names = dict(levels)
    lines = []
    for i, count in enumerate(counts):
        if edges[i] in names:
            lines.append(f"── {names[edges[i]]} {number(edges[i])}")
        blocks = -(-count * width // fullest) if count else 0
        bar = "█" * blocks
        lines.append(
            f"{number(edges[i]):>{left}} – {number(edges[i + 1]):>{left}}  {bar:<{width}}  {count}"
        )
    if edges[-1] in names:
        lines.append(f"── {names[edges[-1]]} {number(edges[-1])}")
    return lines
