"""One tier read's count stop: has it found every row its list gained since the last read?

A read's first request sees the list S, of total `t`; the previous read saw `t_prev`. The
rows of S that earlier polls have not returned are all among the `t - t_prev` rows listed
since (the poller's invariant), and `e` of those are known to be returned already: the rows
the previous read found that were listed after its own first request (`after`, kept in the
cursor). While the read pages down the list grows to `t_latest`, and some of the rows it
finds are those newer rows. So it may stop once it has found `t_latest - t_prev - e - u`
unseen rows, where `u` (at least 0) counts rows listed after its first request that it never
met: then at most `t_latest - t - u` of its finds are newer rows, so all of S's unseen rows
were found (`detector.source.poller`, proof step (a)).

Both corrections matter on a busy feed. Without `u`, any row listed mid-read above the page
being read (a call that just ended starts near the top) makes the count unreachable; without
`e`, every row the previous read found mid-read does, the next time; either sends the read to
its time bound, which at 100 CDR/s is minutes of rows, every poll: the poller fell behind.

`u`, as a lower bound: page m's first row `f` sat at position `(m-1)·s` in the answer that
returned it (`s` the page size), so `(m-1)·s` rows were listed above it then; every row of S
among them was read (the page-shift lemma), so those this read never met were listed after
its first request, and it never returns them. Rows met that may sit above `f` are every
distinct key met with a start at or after `f`'s, or none (ties and unplaced rows count as
above: counting too many only lowers the bound). This needs one row per key, which call ids
promise; a read that met a row with no call id (keyed by a hash of its content), a row too
large to read, or one key twice on a page takes `u = 0`. `s` is the requested page size, or
less when a page before the last came back shorter (an API paging by fewer rows than asked).

`e`, as a lower bound: the read found at most `t - t_prev - e_prev` rows of its own S, so at
least `found - (t - t_prev - e_prev)` of its finds were listed after its first request; they
are committed with the cursor, so the next read finds them seen.
"""

from __future__ import annotations

import bisect
import math

from detector.source.client import Page
from detector.source.rows import row_key, row_start


class Scan:
    """What one tier read has met so far, and whether its count says it is complete."""

    def __init__(self, per_page: int, total: int | None, prior: int | None) -> None:
        """`total`: the list's total at the first request; `prior`: the previous read's total
        plus its `after` (None when either read gave no total: no count stop)."""
        owed = None if total is None or prior is None or total < prior else total - prior
        self.owed, self.first, self.latest = owed, total, total
        self.size = per_page
        self.keys: set[str] = set()
        self.starts: list[float] = []  # sorted; a row with no believable start is +inf
        self.exact = True
        self.last: int | None = None  # rows on the page met last

    def add(self, page: Page) -> None:
        """Note the rows of `page`, the next page of this read."""
        if self.last is not None:  # a page before this one: full, unless the API pages by fewer
            self.size = min(self.size, self.last)
        self.last = len(page.rows)
        latest = self.latest
        self.latest = None if latest is None or page.total is None else max(latest, page.total)
        here: set[str] = set()
        for row in page.rows:
            key = row_key(row)
            if key in here or key.startswith(("row:", "big:")):
                self.exact = False
            here.add(key)
            if key not in self.keys:
                self.keys.add(key)
                start = row_start(row)
                bisect.insort(self.starts, math.inf if start is None else start.timestamp())

    def complete(self, found: int, page: Page, number: int) -> bool:
        """True once the `found` unseen rows (page `number` just read) hold all of S's."""
        if self.owed is None or self.latest is None or self.first is None:
            return False
        grown = self.latest - self.first
        return found >= self.owed + grown - self.unread_above(page, number)

    def after(self, found: int) -> int:
        """Rows among `found` that were listed after the first request (at least), for `e`."""
        return 0 if self.owed is None else max(0, found - self.owed)

    def unread_above(self, page: Page, number: int) -> int:
        """How many rows listed above page `number`'s first row this read never met (at least)."""
        if not self.exact or not page.rows or number < 2:
            return 0
        first = row_start(page.rows[0])
        if first is None:
            return 0
        met = len(self.starts) - bisect.bisect_left(self.starts, first.timestamp()) - 1
        return max(0, (number - 1) * self.size - met)
