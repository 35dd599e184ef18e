"""The poller's fallback for a feed that is not newest-first: passes over everything from the
low-water mark, date-filtered (correct, only slower than the tiers).

A pass cut short by the page budget stores its next page in `cursor.sweep` and the next poll
continues it with the same bound and date filter, so the pass finishes however long the list
is (by the poller's lemma, a resumed scan misses no row that was behind it). The tiers keep
their positions meanwhile. A finished pass read every row visible at its first request from a
bound no unreturned row was below, which is what a read of every tier at that moment gives:
each tier's position moves to the pass's mark (see `detector.source.poller`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from detector.source.client import Page
from detector.source.cursor import Cursor
from detector.source.pages import Pages
from detector.source.rows import Collected
from detector.source.tiers import ListState, Tier, fmt, iso


@dataclass(frozen=True)
class Sweep:
    """Fallback passes of one poller (its pages, tiers, clock and low-water mark)."""

    pages: Pages
    tiers: list[Tier]
    clock: Callable[[], datetime]
    low_water: Callable[[Cursor], datetime]

    def read(self, run: Collected, cur: Cursor, first: Page) -> None:
        """Start or continue a pass within the page budget; `cur` records where it stands."""
        sweep = cur.sweep
        if sweep is None:
            low, mark = self.low_water(cur), cur.head
            high = max(cur.head, self.clock())
            extra, number = self.pages.date_range(low, high + timedelta(days=1)), 1
        else:
            low, extra, number = iso(sweep["low"]), dict(sweep["params"]), int(sweep["page"])
            mark = iso(sweep.get("mark") or sweep["low"])
        run.take(first, low)
        while run.budget > 0:
            page = self.pages.one(extra, number, run)
            run.take(page, low)
            if not page.rows or not page.more:
                self._passed(run, cur, mark)
                return
            number += 1
        cur.head = max([cur.head, *(cdr.start for cdr in run.result.cdrs)])
        cur.sweep = {"page": number, "low": fmt(low), "params": extra, "mark": fmt(mark)}
        run.result.complete = False

    def _passed(self, run: Collected, cur: Cursor, mark: datetime) -> None:
        """A pass finished: every tier is now read as of `mark`."""
        now, lists = self.clock(), cur.lists
        cur.head = max([cur.head, *(cdr.start for cdr in run.result.cdrs)])
        cur.sweep = None
        cur.lists = {
            t.name: ListState(None, mark, now, cost=s.cost if (s := lists.get(t.name)) else None)
            for t in self.tiers
        }
        cur.base = self.low_water(cur)
