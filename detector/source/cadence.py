"""How often to read a tier: the shortest cadence whose re-read overhead stays under a target.

A tier read costs the pages holding its new rows plus a fixed part that does not shrink when
reads come more often: the rows that started after its deepest new row but were already
read (about `rate × spread`, spread = the tier's ring + talk-range + lag spread), the partial
last page (half a page on average) and, when nothing is new, the page-1 probe itself. Per
read, `pages ≈ new / per_page + extra`, and new = `rate × every`, so the overhead over the floor
(one full page per `per_page` new rows) is `extra × per_page / (rate × every)`. Each finished
read updates smoothed estimates of `rate` (new rows per second of feed time) and `extra`
(pages beyond the floor), and the next cadence is the one that brings the overhead to
`target`, never longer than the tier's `every_s` (its latency bound). Cadence only decides
*when* a tier is read, never what a read returns, so the estimates cannot affect correctness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SMOOTHING = 0.3
"""Weight of the newest read in the running estimates."""


@dataclass(frozen=True)
class Cost:
    """Smoothed cost of one tier's reads: new rows per feed second and pages beyond the floor."""

    rate: float
    extra: float

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> Cost | None:
        """From the JSON form (None when the cursor predates cost estimates)."""
        if not raw:
            return None
        return cls(float(raw["rate"]), float(raw["extra"]))

    def dump(self) -> dict[str, float]:
        """JSON form."""
        return {"rate": round(self.rate, 6), "extra": round(self.extra, 4)}


def observe(
    prev: Cost | None, pages: int, found: int, elapsed_s: float, per_page: int
) -> Cost | None:
    """The estimates after a finished read of `pages` pages that found `found` new rows.

    >>> observe(None, 3, 150, 60.0, 100)
    Cost(rate=2.5, extra=1.5)
    >>> observe(Cost(2.0, 1.0), 1, 0, 60.0, 100)
    Cost(rate=1.4, extra=1.0)
    """
    if elapsed_s <= 0:
        return prev
    rate, extra = found / elapsed_s, max(0.0, pages - found / per_page)
    if prev is None:
        return Cost(rate, extra)
    keep = 1 - SMOOTHING
    return Cost(keep * prev.rate + SMOOTHING * rate, keep * prev.extra + SMOOTHING * extra)


def cadence(cost: Cost | None, per_page: int, target: float, longest_s: float) -> float:
    """Seconds between reads that keep the overhead at `target`, at most `longest_s`.

    >>> cadence(Cost(rate=10.0, extra=2.0), 100, 0.25, 600.0)
    80.0
    >>> cadence(Cost(rate=0.01, extra=1.0), 100, 0.25, 600.0)
    600.0
    >>> cadence(None, 100, 0.25, 600.0)
    600.0
    """
    if cost is None or cost.rate <= 0 or target <= 0:
        return longest_s
    return min(longest_s, cost.extra * per_page / (cost.rate * target))
