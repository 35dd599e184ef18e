"""Pages of the feed as the poller asks for them: per_page, the page budget, batches of
concurrent requests (and which of a batch's answers came in page order, `in_order`), date
filters, and answers too large to read whole.

An answer over the client's byte cap (`OversizedResponse`) is asked for again as `SPLIT`
smaller pages over the same positions: page p of size n is pages `(p-1)·n/m + 1 … p·n/m` of
size m = n/10 (else 1), so the offsets stay contiguous and the poller's page-shift lemma holds
for the merged page as for any other. A single row still over the cap comes back as a
`TooLarge` placeholder, which the poller quarantines (`row_too_large`) instead of reading;
the rows around it are read as usual, so one poison row never blocks the rows after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from detector.errors import OversizedResponse
from detector.source.client import CdrApi, Page
from detector.source.rows import Collected, TooLarge

Params = dict[str, str | int]
SPLIT = 10
"""An oversized page is read again as this many smaller pages."""


class Pages:
    """Requests of list pages for one poller: the global feed or one account's list."""

    def __init__(self, api: CdrApi, per_page: int, account: str | None, date_tz: str) -> None:
        self.api, self.per_page, self.account = api, per_page, account
        self.tz = ZoneInfo(date_tz)

    def one(self, params: Params, number: int, run: Collected) -> Page:
        """Page `number` of the list `params` selects, counted against the run's budget."""
        run.budget -= 1
        return self.fetch({**params, "page": number})

    def batch(self, params: Params, numbers: range, run: Collected) -> list[Page]:
        """Pages fetched concurrently (the client's rate limit holds across threads)."""
        if len(numbers) == 1:
            return [self.one(params, numbers[0], run)]
        run.budget -= len(numbers)
        with ThreadPoolExecutor(max_workers=len(numbers)) as pool:
            return list(pool.map(lambda n: self.fetch({**params, "page": n}), numbers))

    def fetch(self, params: Mapping[str, str | int], account: str | None = None) -> Page:
        """One page at `per_page`, read in smaller pages when it is over the byte cap."""
        return self._get({**params, "per_page": self.per_page}, account or self.account)

    def _get(self, query: Params, account: str | None) -> Page:
        try:
            return self.api.list_cdrs(query, account=account)
        except OversizedResponse as exc:
            return self._split(query, account, exc)

    def _split(self, query: Params, account: str | None, exc: OversizedResponse) -> Page:
        """The same positions as `query`'s page, in smaller pages; a lone row over the cap
        becomes a `TooLarge` placeholder."""
        size, number = int(query["per_page"]), int(query["page"])
        if size == 1:
            where = ", ".join(f"{k}={v}" for k, v in sorted(query.items()))
            return Page([TooLarge(exc.head, where)], number, 1, None, None, "a")
        sub = size // SPLIT if size % SPLIT == 0 and size >= SPLIT else 1
        parts: list[Page] = []
        first = (number - 1) * size // sub
        for k in range(1, size // sub + 1):
            part = self._get({**query, "per_page": sub, "page": first + k}, account)
            parts.append(part)
            if not part.rows or not part.more:
                break
        last, rows = parts[-1], [row for part in parts for row in part.rows]
        return Page(rows, number, size, last.total, last.has_next, last.shape)

    def date_range(self, low: datetime, high: datetime) -> Params:
        """`start_date`/`end_date` (days in `date_tz`) covering instants `low..high`.

        >>> from datetime import UTC
        >>> p = Pages.__new__(Pages)
        >>> p.tz = ZoneInfo("Asia/Kolkata")
        >>> low, high = datetime(2026, 3, 25, 18, tzinfo=UTC), datetime(2026, 3, 25, 19, tzinfo=UTC)
        >>> p.date_range(low, high)
        {'start_date': '2026-03-25', 'end_date': '2026-03-26'}
        """
        first, last = low.astimezone(self.tz).date(), high.astimezone(self.tz).date()
        return {"start_date": first.isoformat(), "end_date": last.isoformat()}


def in_order(pages: list[Page]) -> int:
    """How many of a batch's pages, from the first, were answered in page order: while totals
    do not go down (a list that only grows shows a larger total later), as if requested one
    at a time; a missing total ends the run. At least 1: the first page was asked for after
    every earlier request had been answered.

    >>> [in_order([Page([], n, 5, t, True, "a") for n, t in enumerate(ts, 1)])
    ...  for ts in ([10, 10, 12], [10, 12, 11, 13], [10, None, 10], [None, 10])]
    [3, 2, 1, 1]
    """
    count = 1
    for before, after in itertools.pairwise(pages):
        if before.total is None or after.total is None or after.total < before.total:
            break
        count += 1
    return count
