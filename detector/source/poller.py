"""Tailing the partner CDR feed so that every CDR is returned exactly once, cheaply.

The feed is a page-numbered list, newest-first by start time, that only grows: a CDR is
inserted when its call ends (start + ring + talk + lag), so long calls land *behind* rows
that were already read. The poller is a pure function of (cursor, `seen`, API answers): it
keeps no state outside the JSON cursor it returns, and a failed poll raises before the
caller commits anything, so the next poll simply starts again from the last committed cursor.

Lists. The feed is read as disjoint tiers by talk duration (`tier_bounds_s`, filters
`min_duration`/`max_duration`), see `detector.source.tiers`. Tier i holds calls of duration
`[lo_i, hi_i]`, so each of its rows appears within `delay_i = R + hi_i + L` of its start
(`R` = `max_ring_s`, `L` = `max_lag_s`; the last tier: `Hz` = `horizon_s`).

Cadence. A tier read must read down to its deepest new row, so besides its new rows it
re-reads the rows that became visible before its last read but started after that row
(about `rate_i × spread_i`, spread = ring spread + `hi_i - lo_i` + lag spread), plus at most
one partial page, or one page-1 probe when nothing is new: per read, pages ≈
`new / per_page + extra_i`, an overhead over the floor of `extra_i × per_page / (rate_i ×
every_i)`. Each tier therefore picks its cadence from its own reads (`detector.source.cadence`):
the shortest `every_i` that keeps that overhead at `target_overhead`, but never longer than
`tier_every_s[i]`. A tier is read when `every_i` has passed since its last read, by the
poller's clock or by the number of polls times `interval_s`, whichever comes first. Cadence
only decides when a tier is read, never what a read returns: correctness does not depend on it.
Detection latency: a call of tier i reaches the detector within `delay_i + every_i` plus one
poll interval, so at most `delay_i + tier_every_s[i] + interval_s`; a busier tier gets a
shorter cadence, a tier with little traffic is read at `tier_every_s[i]`. A lower
`target_overhead` costs latency. Latency first (issue 16): the head tiers (calls of under
`head_s`, 90 s: unanswered, then answered) are read at every poll, first, while their reads
are expected to cost at most `latency_budget` requests (`cost.rate × interval / per_page +
cost.extra` each), so their calls reach the detector within one poll interval of being
listed; a head tier beyond the budget (a busy feed, where the rows a read must pass to reach a
newly listed no-answer call fill pages) takes its overhead-targeted cadence like the others.
On a quiet feed one merged list over the whole head is read at every poll instead, as an
accelerator that keeps no promise (`detector.source.head`: why, and when each applies).

Cursor: `floor` (we watch calls with start >= floor), `head` (newest believable start seen),
`order`, `base` (where a tier with no saved position reads from) and per tier
`lists[name] = {total, mark, at, age, resume?, cost?}` (see `ListState`; a cursor without
`cost` is read as "no estimate yet": the tier waits its longest cadence until its reads give
one). Positions are never dropped, whatever happens (issue 10: a fallback that forgot them
and read only `head - Hz` back lost every call of a longer outage).

Low-water mark: `min` over tiers of their next bound (and any pending resume or sweep bound).
Every row at or above the floor that has not been returned starts at or after it (shown for
each step below), so (i) `base` takes its value after each poll, and (ii) it is returned as
`keep_from`: the caller forgets committed ids of rows older than it and no sooner, so however
long an outage or backlog lasts, no row can be offered again after its id was purged.

Poison (issue 10): only starts up to the clock plus `max_clock_skew_s` count as positions; a
CDR ending later is `future_time` (so a row dated 2030 moves neither `head` nor event time),
and rows with no believable start stay in `seen` (`rows.UNPLACED`). Answers over the byte cap
are re-read in smaller pages (`detector.source.pages`). Bad rows never stop a scan.

One poll:
1. First poll (no cursor): read page 1 unfiltered; `floor = base = newest start - start_back`,
   or nothing while the feed is empty; the poll returns at once (`complete=False`) so the
   anchor is committed before any backlog is read (a daemon killed while reading a long
   `start_back` resumes from the same floor). An order check on every first page read; if it
   shows the list is not newest-first, the fallback (6) is used.
2. For each tier with a pending `resume`: continue that scan (below) within the page budget,
   `workers` pages at a time. The tier's regular read waits until its resume has finished.
3. For each due tier, least recently read first (so a small budget starves none): read
   page 1 (total `t`). Bound `B = max(floor, mark_prev - delay_i)` (a tier never read:
   `max(floor, base)`). Scan pages
   until (a) the count of rows found that are not in `seen` reaches `t_latest - t_prev - e -
   u` (`t_latest` = largest total seen during the scan, `e` = rows the previous read found
   that were listed after its first request, `u` = rows listed above the last page read that
   the scan never met, both lower bounds: `detector.source.scan`; skipped when totals are
   missing or went down), or (b) a page ends below `B`, or (c) the list ends.
4. Page budget (`max_pages_per_cycle`, all lists together): a scan cut short stores
   `resume = {page: next page, bound: B, reached, top}` and its tier's state is saved as
   read; the cursor always advances, so a backlog of any size makes durable progress.
   `complete=False` then. Such a cut is a *gap* (`PollResult.opened`, logged with its time
   range and counted by the service): `B..reached` is still to read (`unread_s`), and the
   tier reads it before its next regular read (`closed` when done).
5. Every row read at or above its read's bound, not returned earlier in this poll and not in
   `seen(...)` is returned once (a CDR or a `Rejected`, keyed by its call id or a hash).
6. Fallback (order unknown): read every page of `[low-water, today + 1]`; a pass cut short by
   the budget stores `sweep = {page, low, params, mark}` and the next poll continues it. The
   tiers keep their positions meanwhile; a finished pass moves every tier to its `mark`.

Why exactly once. *At most once*: a row is returned only if its key is neither in this
poll's set nor in `seen`, and the caller commits the keys with the cursor in one transaction
and purges none at or after the low-water mark. *At least once*, assuming each list
is insert-only with a fixed order, no row starts after it becomes visible, ring <= R, lag <= L,
talk <= Hz, and the tiers cover every row (integer durations):
- Lemma (page shifts). A scan that reads pages p, p+1, ... of a list, one request at a time,
  and stops at page m reads every row that, when page p was requested, sat at a position
  >= (p-1)·per_page and is not below the stop condition: its position only grows, so
  (its page - the requested page) starts >= 0, ends <= 0 and drops by at most one per
  request. Across polls (resume) the same holds, positions still only grow. Of a batch of
  `workers` concurrent pages, the pages up to the first whose total is below an earlier one's
  count as read one at a time (`in_order`: a list that only grows shows each answer's list
  no earlier than the one before, as the count stop (a) trusts totals); the next batch starts
  after them. (It used to count only when every total equalled the one before the batch, and
  else re-read page by page: on a busy feed every batch moved, and four of five requests of
  a backlog's scan were thrown away.)
- Invariant: after a tier read (with its resume) finishes, every row of that tier visible at
  its first request with start >= floor has been returned.
- (b) Bounded stop: a row visible at v after the previous read's first request T' has
  `s >= v - delay_i > T' - delay_i >= mark_prev - delay_i` (mark_prev <= T' because no row
  starts in the future), so it is >= B and the lemma finds it.
- (a) Count stop: let S be the list at this read's first request, t its total; S \\ S_prev
  has exactly `t - t_prev` rows, and by the invariant every unseen row of S at or above the
  floor is among them, and so are the `e` rows, which are seen: at most `t - t_prev - e`
  rows of S are unseen. The `u` rows are not in S (by the lemma every row of S above the
  last page was read) and never found, so rows found that are not in S number at most
  `t_latest - t - u`, and finding `t_latest - t_prev - e - u` unseen rows means all of S's
  unseen rows were found. Rows
  below the floor are never counted, which can only delay the count stop, never advance it.
- A resumed scan keeps the bound of its cut read; the rows of that tier that appear later
  are covered by the next regular read (b), which waits for the resume to finish.
- Low-water mark: an unreturned row is either in a pending scan (>= its bound, by the lemma),
  or in a tier's list but not visible at its last read (>= `mark - delay`, by (b)), or in a
  tier never read (>= `base`, by induction: `base` was such a minimum over the tiers of
  the partition then in force, so it holds for any new partition too; and, when a saved
  list with no pending resume holds the new tier's whole range, >= that list's `mark -
  delay`, by (b) applied to that list: a tier never read starts at the larger of the two).
- Merged head reads (`detector.source.head`) return rows early and nothing else: they never
  return a row below `base` (so its id is still in `seen`), change no tier's state, and a
  tier's count stop only finds fewer unseen rows because of them (then its bound stops it).
- Fallback reads everything visible in its window, from the low-water mark; a pass resumed
  across polls misses nothing by the lemma (positions only grow in any fixed insert-only
  order), and rows inserted behind its resume point are read by the next pass. A finished
  pass read every row visible at its first request at or above a bound no unreturned row
  was below, which is the invariant each tier needs: every tier's `mark` may move to it.
- Cadence (fixed or estimated) appears in none of the steps above: it only decides which
  polls read a tier, and (b) holds for any time between two reads.
Calls longer than `horizon_s` are outside the guarantee: set it above the longest call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from detector.source.cadence import cadence, observe
from detector.source.client import CdrApi, Page
from detector.source.cursor import Cursor
from detector.source.head import Head
from detector.source.pages import Pages, Params, in_order
from detector.source.rows import (
    Collected,
    Gap,
    Normalize,
    PollResult,
    Seen,
    ends_below,
    newest,
    order,
    starts,
)
from detector.source.scan import Scan
from detector.source.settings import PollerConfig
from detector.source.sweep import Sweep
from detector.source.tiers import ListState, Resume, Tier, iso


class _Unordered(Exception):
    """A first page showed the list is not newest-first."""


class Poller:
    """Tails the feed; `poll` for the daemon, `backfill` for a date range."""

    def __init__(
        self,
        api: CdrApi,
        normalize: Normalize,
        config: PollerConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.api, self.normalize, self.config, self.clock = api, normalize, config, clock
        self.tiers = config.tiers()
        self.head = Head.of(
            self.tiers, config.head_s, config.per_page, config.interval_s, config.latency_budget
        )
        self.pages = Pages(api, config.per_page, config.account, config.date_tz)
        self.sweep = Sweep(self.pages, self.tiers, clock, self._low_water)

    def poll(self, cursor: dict[str, Any] | None, seen: Seen) -> PollResult:
        """One cycle: every row not returned before, exactly once, and the next cursor."""
        cur = Cursor.load(cursor)
        config = self.config
        latest = self.clock() + _s(config.max_clock_skew_s)
        run = Collected(
            seen, self.normalize, config.account, config.max_pages_per_cycle, latest,
            horizon_s=config.horizon_s,
        )  # fmt: skip
        before = self.api.stats.total
        if cur is None:
            return self._anchor(run, before)
        first: Page | None = None
        if cur.order != "newest":
            first = self.pages.one({}, 1, run)
            cur.order = order(first) or cur.order
            cur.head = max(cur.head, newest(first, latest) or cur.head)
        if cur.order == "newest":
            cur.sweep = None
            try:
                return self._finish(run, self._tiers(run, cur), before)
            except _Unordered:
                cur.order = "other"  # positions kept: the fallback reads from their low-water mark
        if first is None:
            first = self.pages.one({}, 1, run)
        self.sweep.read(run, cur, first)
        return self._finish(run, cur, before)

    def _anchor(self, run: Collected, before: int) -> PollResult:
        """First poll: the floor from the feed's newest call, committed before reading on."""
        first = self.pages.one({}, 1, run)
        head = newest(first, run.latest)
        if head is None:  # an empty feed: nothing to anchor on yet
            return self._finish(run, None, before)
        floor = head - _s(self.config.start_back_s)
        cur = Cursor(floor, head, order(first) or "newest", base=floor)
        run.take(first, floor)
        run.result.complete = False
        return self._finish(run, cur, before)

    def _tiers(self, run: Collected, cur: Cursor) -> Cursor:
        """Resume unfinished scans, then read every due tier, within the page budget."""
        for aged in cur.lists.values():
            aged.age += 1
        for tier in self.tiers:
            held = cur.lists.get(tier.name)
            if held is not None and held.resume is not None and run.budget > 0:
                cut, held.resume = held.resume, self._resume(run, tier, held.resume)
                if held.resume is None:
                    run.result.closed.append(Gap(tier.name, cut.bound, cut.top or cut.bound))
        pending, now = False, self.clock()
        merged = self.head.merged_mode(cur) and run.budget > 0
        if merged and not self.head.glance(self.pages, run, cur, now):
            raise _Unordered
        fast = self.head.every_poll(cur, merged)
        for tier in sorted(
            self.tiers, key=lambda t: (t.name not in fast, -_age(cur.lists.get(t.name)))
        ):
            state = cur.lists.get(tier.name)
            due = state is None or tier.name in fast or self._due(state, tier, now)
            if (state is not None and state.resume is not None) or (due and run.budget <= 0):
                pending = True
            elif due:
                state = cur.lists[tier.name] = self._read(run, cur, tier, state, now)
                if state.resume is not None:
                    pending = True
                    high = state.resume.reached or state.mark
                    run.result.opened.append(Gap(tier.name, state.resume.bound, high))
        run.result.complete = not pending
        cur.base = self._low_water(cur)
        return cur

    def _due(self, state: ListState, tier: Tier, now: datetime) -> bool:
        """True once the tier's cadence has passed by the poll count or by the clock."""
        config = self.config
        every = cadence(state.cost, config.per_page, config.target_overhead, tier.every_s)
        polls = state.age * config.interval_s >= every
        return polls or now - state.at >= _s(every) or now < state.at

    def _read(
        self, run: Collected, cur: Cursor, tier: Tier, state: ListState | None, now: datetime
    ) -> ListState:
        """One regular read of a tier: count-guided, bounded, cut short by the budget."""
        params = tier.params()
        page = self.pages.one(params, 1, run)
        if order(page) == "other":
            raise _Unordered
        cur.head = max(cur.head, newest(page, run.latest) or cur.head)
        bound, base = self._bound(cur, tier, state)
        new = ListState(page.total, cur.head, now, cost=None if state is None else state.cost)
        prior = None if base is None or state is None else base + state.after
        scan = Scan(self.config.per_page, page.total, prior)
        found, counted, number = 0, set[str](), 1
        reached: datetime | None = None
        while True:
            found += run.take(page, bound, counted, keep=tier.beyond)
            scan.add(page)
            new.after = scan.after(found)
            reached = _oldest(page, run, reached)
            if scan.complete(found, page, number):
                break
            if not page.rows or not page.more or ends_below(page, bound):
                break
            if run.budget <= 0:
                new.resume = Resume(number + 1, bound, reached, reached)
                return new
            number += 1
            page = self.pages.one(params, number, run)
        if state is not None:
            elapsed = max(state.age * self.config.interval_s, (now - state.at).total_seconds())
            new.cost = observe(state.cost, number, found, elapsed, self.config.per_page)
        return new

    def _bound(
        self, cur: Cursor, tier: Tier, state: ListState | None
    ) -> tuple[datetime, int | None]:
        """Where a read of `tier` may stop at the latest, and the total its count starts from."""
        if tier.beyond:  # no delay bound: read to the floor (its ids are never forgotten)
            return cur.floor, None if state is None else state.total
        if state is None:
            return max(self._base(cur), self._inherited(cur, tier)), None
        return max(cur.floor, state.mark - _s(tier.delay_s)), state.total

    def _inherited(self, cur: Cursor, tier: Tier) -> datetime:
        """Where a tier new to this cursor may start when a saved list held its whole range
        (the tier bounds changed, e.g. a head split in two): every row of that list listed by
        its last finished read's first request was returned, so the tier's unreturned rows
        start at or after that read's mark less the saved list's delay, as in (b)."""
        best = cur.floor
        for name, saved in cur.lists.items():
            span = _span(name)
            if span is None or saved.resume is not None or tier.high is None:
                continue
            if span[0] <= tier.low and tier.high <= span[1]:
                delay = self.config.max_ring_s + span[1] + self.config.max_lag_s
                best = max(best, saved.mark - _s(delay))
        return best

    def _base(self, cur: Cursor) -> datetime:
        """Where a tier with no saved position reads from (`Cursor.base`; older cursors: the
        lowest bound of the tiers they saved, else the floor)."""
        if cur.base is not None:
            return max(cur.floor, cur.base)
        saved = [(t, cur.lists.get(t.name)) for t in self.tiers if not t.beyond]
        known = [self._bound(cur, t, s)[0] for t, s in saved if s is not None]
        return min(known, default=cur.floor)

    def _low_water(self, cur: Cursor) -> datetime:
        """The oldest start a later read from `cur` can return: every row at or above the
        floor not returned yet starts at or after it (so `seen` ids older are not needed)."""
        lows: list[datetime] = []
        for tier in self.tiers:
            if tier.beyond:  # its rows' ids are kept whatever their age
                continue
            state = cur.lists.get(tier.name)
            lows.append(self._bound(cur, tier, state)[0])
            if state is not None and state.resume is not None:
                lows.append(state.resume.bound)
        if cur.sweep is not None:
            lows.append(iso(cur.sweep["low"]))
        return max(cur.floor, min(lows, default=cur.floor))

    def _resume(self, run: Collected, tier: Tier, resume: Resume) -> Resume | None:
        """Continue a cut scan down to its bound, `workers` pages at a time: the pages of a
        batch up to the first whose total is smaller than an earlier one's (`in_order`); one
        page at a time while the answers give no total (a batch could keep only its first)."""
        params, number, bound = tier.params(), resume.page, resume.bound
        reached, totals = resume.reached, True
        while run.budget > 0:
            width = min(self.config.workers, run.budget) if totals else 1
            pages = self.pages.batch(params, range(number, number + width), run)
            for page in pages[: in_order(pages)]:
                run.take(page, bound, keep=tier.beyond)
                reached = _oldest(page, run, reached)
                number, totals = number + 1, page.total is not None
                if not page.rows or not page.more or ends_below(page, bound):
                    return None
        return Resume(number, bound, reached, resume.top)

    def backfill(
        self, start: date, end: date, account: str | None = None, seen: Seen | None = None
    ) -> Iterator[PollResult]:
        """Page through calls dated `start..end` (in `date_tz`), one result per page, deduped.

        Each result's cursor is a progress marker `{"backfill": {...}}`, not a tailing cursor.
        """
        latest = self.clock() + _s(self.config.max_clock_skew_s)
        run = Collected(seen or (lambda _ids: set()), self.normalize, account, latest=latest)
        params: Params = {"start_date": start.isoformat(), "end_date": end.isoformat()}
        number = 1
        while True:
            before = self.api.stats.total
            run.result = PollResult([], [], {}, [])
            page = self.pages.fetch({**params, "page": number}, account=account)
            run.take(page, None)
            run.result.cursor = {"backfill": {**params, "page": number}}
            run.result.requests = self.api.stats.total - before
            yield run.result
            if not page.rows or not page.more:
                return
            number += 1

    def _finish(self, run: Collected, cur: Cursor | None, before: int) -> PollResult:
        result = run.result
        result.cursor = cur.dump() if cur is not None else {"v": 2}
        result.requests = self.api.stats.total - before
        if cur is not None:
            result.keep_from = self._low_water(cur)
            result.unread_s = sum(s.resume.unread_s() for s in cur.lists.values() if s.resume)
        return result


def _span(name: str) -> tuple[int, int] | None:
    """The talk range of a saved tier named `low-high`; None for any other list.

    >>> _span("1-89"), _span("86401+"), _span("head:0-89")
    ((1, 89), None, None)
    """
    low, _, high = name.partition("-")
    return (int(low), int(high)) if low.isdigit() and high.isdigit() else None


def _oldest(page: Page, run: Collected, reached: datetime | None) -> datetime | None:
    """The older of `reached` and the oldest believable start on `page`."""
    times = starts(page, run.latest)
    if not times:
        return reached
    low = min(times)
    return low if reached is None else min(reached, low)


def _age(state: ListState | None) -> float:
    """Polls since a list was last read (infinite if never): due lists are read oldest first."""
    return math.inf if state is None else state.age


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
