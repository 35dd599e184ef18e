"""The head of the feed: the tiers of calls shorter than `head_s` of talk (unanswered,
one-ring and short calls, what robocall and Wangiri bursts are made of) and how they are
read for latency (issue 16).

Where a new head row sits. The list is newest-first by start, and a row is listed when its
call ends, so a newly listed row sits below every row of its list that started after it and
was listed first: about `rate × (its delay - the others' delays)` rows deep. The head has the
widest spread of delays for its size: a no-answer call rings 0-60 s, a short answered call
rings a few seconds and talks up to 89 s. So the default tiers split it in two, unanswered
(talk 0) and answered under `head_s` (`tier_bounds_s` starts with 1 and 90): at 10 CDR/s a
read of each down to its newest rows costs about 2 pages, against about 4.7 for the two as one
list, and at 100 CDR/s 18 + 15 against 51 (`python -m bench.depth`).

Two ways to read it, chosen at every poll from the measured rates:
- *Split* (a busy feed): each head tier is read at every poll, in tier order (unanswered
  first), while the expected cost of those reads (`rate × interval / per_page + extra` pages
  each) fits in `latency_budget`; a head tier beyond the budget takes its overhead-targeted
  cadence like every other tier (efficiency mode).
- *Merged* (a quiet feed, up to about 2 CDR/s): one list holding the whole head
  (`min_duration` 0 to the last head tier's bound) is read at every poll instead, one page
  when quiet, where the split read would cost a page per tier. It is
  an accelerator only: its reads return rows early (never a row below the low-water mark, so
  every row it returns has its id kept in `seen`) and keep no promise; the head tiers stay
  the source of truth, read at their efficiency cadence, and find the rows it returned already
  seen (their reads then stop at their time bound instead of their count: a few pages every
  few minutes). Exactly once is untouched: the merged read only changes *when* a row is
  returned, and `seen` makes it once.
A feed leaves the merged mode once a merged read is expected to cost more pages than there are
head tiers (its measured new rows' pages plus extra pages; a split read costs at least one
page per tier; a merged read that could not count, the second after entering, is left out of
the estimate), and comes back once
the head brings at most `MERGE_ROWS` of a page of new rows per poll, measured by the split
tiers after `SETTLE_POLLS` reads (their rate estimates, low after the merged reads took their
rows, have settled by then). Measured at real rates (requests taking no time, head only, per
10 s poll): 1 CDR/s merged 1.15 against 2.03 split (the old single head tier: 1.03); 2 CDR/s
1.28 against 2.03; 3 CDR/s 2.10 against 2.03, so split from about 2.5 CDR/s; 10 CDR/s split
4.0 (the old single tier: 5.05).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from detector.source.cadence import observe
from detector.source.cursor import Cursor
from detector.source.pages import Pages
from detector.source.rows import Collected, ends_below, newest, order
from detector.source.scan import Scan
from detector.source.tiers import ListState, Tier

MERGE_ROWS = 0.15
"""Back to merged mode once the head brings at most this share of a page of new rows per poll."""
SETTLE_POLLS = 6
"""Polls in split mode before the feed may go back to merged (the estimates settle)."""


@dataclass(frozen=True)
class Head:
    """The head tiers, the merged list over them, and the budget that reads them every poll."""

    tiers: tuple[Tier, ...]
    merged: Tier | None
    per_page: int
    interval_s: float
    budget: float

    @classmethod
    def of(
        cls, tiers: Sequence[Tier], head_s: int, per_page: int, interval_s: float, budget: float
    ) -> Head:
        """The head of `tiers`: those whose calls all last under `head_s` (at least the first).

        >>> from detector.source.tiers import build_tiers
        >>> tiers = build_tiers((1, 90, 300), (300, 300, 300, 900), 130.0, 60.0, 3600)
        >>> head = Head.of(tiers, 90, 100, 10.0, 25.0)
        >>> [t.name for t in head.tiers], head.merged and head.merged.name
        (['0-0', '1-89'], 'head:0-89')
        """
        inside = tuple(t for t in tiers if not t.beyond and (t.high or 0) < head_s)
        head = inside or tuple(tiers[:1])
        merged = None
        if len(head) > 1:
            low, high = head[0].low, head[-1].high
            delay = max(t.delay_s for t in head)
            merged = Tier(f"head:{low}-{high}", low, high, delay, 0.0)
        return cls(head, merged, per_page, interval_s, budget)

    def merged_mode(self, cur: Cursor) -> bool:
        """True when this poll should read the merged list instead of the head tiers."""
        if self.merged is None or self.budget <= 0:
            return False
        state = cur.lists.get(self.merged.name)
        if state is not None and state.age <= 1:  # merged last poll: stay unless it got busy
            cost = state.cost
            pages = 1.0 if cost is None else cost.rate * self.interval_s / self.per_page
            pages += 0.0 if cost is None else cost.extra
            return pages <= len(self.tiers)  # the split reads cost at least a page per tier
        if state is not None and state.age <= SETTLE_POLLS:
            return False
        rates = [_rate(cur.lists.get(t.name)) for t in self.tiers]
        if any(r is None for r in rates):
            return False
        return sum(r or 0.0 for r in rates) * self.interval_s <= MERGE_ROWS * self.per_page

    def every_poll(self, cur: Cursor, merged: bool) -> set[str]:
        """Names of the head tiers read at this poll whatever their cadence (split mode):
        in tier order, each whose expected cost still fits in what is left of the budget."""
        if merged or self.budget <= 0:
            return set()
        chosen: set[str] = set()
        spent = 0.0
        for tier in self.tiers:
            state = cur.lists.get(tier.name)
            cost = None if state is None else state.cost
            pages = 1.0 if cost is None else cost.rate * self.interval_s / self.per_page
            pages += 0.0 if cost is None else cost.extra
            if cost is not None and spent + pages > self.budget:
                continue
            chosen.add(tier.name)
            spent += pages
        return chosen

    def glance(self, pages: Pages, run: Collected, cur: Cursor, now: datetime) -> bool:
        """Merged mode: read the merged list down to its new rows, at most `budget` pages and
        half of what is left of the poll's page budget (the tiers must keep making progress),
        returning unseen rows at or above the low-water mark (their ids are kept in `seen`,
        so none is returned twice). An accelerator: no resume, no promise. Entering merged
        mode it reads page 1 and forgets its old cost estimate (from busier times, maybe). A
        read cut short by its page limit counts in the estimate, so a merged list that cannot
        keep up sends the head back to split reads. False (nothing read past page 1) when
        page 1 shows the list is not newest-first."""
        tier = self.merged
        if tier is None or run.budget < 2:
            return True
        state = cur.lists.get(tier.name)
        page = pages.one(tier.params(), 1, run)
        if order(page) == "other":
            return False
        cur.head = max(cur.head, newest(page, run.latest) or cur.head)
        going = state if state is not None and state.age <= 1 else None  # read last poll
        new = ListState(page.total, cur.head, now, cost=None if going is None else going.cost)
        low = max(cur.floor, cur.base or cur.floor)
        bound = low if going is None else max(low, going.mark - timedelta(seconds=tier.delay_s))
        prior = None if going is None or going.total is None else going.total + going.after
        cap = 1 if going is None else max(1, min(int(self.budget), (run.budget + 1) // 2))
        scan = Scan(self.per_page, page.total, prior)
        found, counted, number, cut = 0, set[str](), 1, False
        while True:
            found += run.take(page, bound, counted)
            scan.add(page)
            new.after = scan.after(found)
            if scan.complete(found, page, number):
                break
            if not page.rows or not page.more or ends_below(page, bound):
                break
            if number >= cap:
                new.total, cut = None, True  # not read to its bound: the next read cannot count
                break
            number += 1
            page = pages.one(tier.params(), number, run)
        if going is not None and (prior is not None or cut):  # not the read after entering
            elapsed = max(going.age * self.interval_s, (now - going.at).total_seconds())
            new.cost = observe(going.cost, number, found, elapsed, self.per_page)
        cur.lists[tier.name] = new
        return True


def _rate(state: ListState | None) -> float | None:
    """A tier's measured rate of new rows per second, None before it has one."""
    return None if state is None or state.cost is None else state.cost.rate
