"""The rows visible so far, kept sorted by start time so a page is a slice, not a scan.

Keys are kept oldest-first, so a newly released row (which usually started recently) is
inserted near the end of each sorted list: `insort` then moves few elements, and a run of
millions of rows stays fast. A newest-first page is a slice taken from the end, reversed.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from detector.simulate.traffic import Traffic
from detector.simulate.wire import Row

# Sort key: (start, -arrival sequence). Ascending is oldest-first; reversed it is newest-first
# with ties in arrival order, so the order is total.
Key = tuple[float, int]


@dataclass(frozen=True)
class Query:
    """Which visible rows to return: optional account, start-time bounds and a row predicate."""

    account: str | None = None
    start_min: float | None = None
    start_max: float | None = None
    predicate: Callable[[Row], bool] | None = None
    signature: tuple[tuple[str, str], ...] | None = None
    """A hashable description of `predicate`; queries with one share an incremental index."""


class Feed:
    """Releases rows as sim time passes and answers page queries in O(log n + page).

    A filtered query with a signature gets its own sorted index, built once by a scan of the
    account's rows and then kept up to date as rows are released, so repeated filtered reads
    (the poller's duration tiers) are as cheap as unfiltered ones.
    """

    def __init__(self, traffic: Traffic) -> None:
        """Start with nothing visible."""
        self._traffic = traffic
        self._next = 0
        self._keys: dict[str | None, list[Key]] = {None: []}
        self._calls: set[str] = set()
        self._indexes: dict[tuple[str | None, object], tuple[Callable[[Row], bool], list[Key]]] = {}
        self._lock = threading.Lock()

    @property
    def visible(self) -> int:
        """How many rows have been released."""
        return self._next

    @property
    def calls(self) -> int:
        """How many distinct calls have been released (chaos duplicates count once)."""
        return len(self._calls)

    @property
    def total(self) -> int:
        """How many rows the run has in all."""
        return len(self._traffic.rows)

    def advance(self, now_epoch: float) -> None:
        """Release every row whose `available_at` is at or before `now_epoch`."""
        traffic = self._traffic
        with self._lock:
            while self._next < len(traffic.rows) and traffic.available[self._next] <= now_epoch:
                i = self._next
                key = (traffic.starts[i], -i)
                account = str(traffic.rows[i]["account_auth_id"])
                bisect.insort(self._keys[None], key)
                bisect.insort(self._keys.setdefault(account, []), key)
                row = traffic.rows[i]
                self._calls.add(str(row.get("call_uuid") or row.get("uuid")))
                for (scope, _), (predicate, keys) in self._indexes.items():
                    if scope in (None, account) and predicate(row):
                        bisect.insort(keys, key)
                self._next += 1

    def page(
        self, query: Query, page: int, per_page: int, *, oldest_first: bool = False
    ) -> tuple[list[Row], int]:
        """Rows of one page (1-based), newest-first unless asked, and the matching total."""
        with self._lock:
            keys = self._keys.get(query.account, [])
            if query.predicate is not None and query.signature is not None:
                keys = self._index(query.account, query.signature, query.predicate, keys)
                query = Query(query.account, query.start_min, query.start_max)
            lo, hi = self._span(keys, query)
            first = (page - 1) * per_page
            if query.predicate is None:
                if oldest_first:
                    chosen = keys[lo + first : min(hi, lo + first + per_page)]
                else:
                    stop = max(lo, hi - first)
                    chosen = keys[max(lo, stop - per_page) : stop][::-1]
                return [self._traffic.rows[-i] for _, i in chosen], max(0, hi - lo)
            matches = list(self._matching(keys[lo:hi][::-1], query.predicate))
        if oldest_first:
            matches.reverse()
        return matches[first : first + per_page], len(matches)

    def _span(self, keys: list[Key], query: Query) -> tuple[int, int]:
        """The index range of `keys` whose start lies within the query's bounds (inclusive)."""
        lo = (
            0
            if query.start_min is None
            else bisect.bisect_left(keys, (query.start_min, -self.total))
        )
        hi = (
            len(keys)
            if query.start_max is None
            else bisect.bisect_right(keys, (query.start_max, 1))
        )
        return lo, hi

    def _index(
        self,
        account: str | None,
        signature: object,
        predicate: Callable[[Row], bool],
        keys: list[Key],
    ) -> list[Key]:
        """The sorted keys of `account`'s rows matching `predicate`, built on first use."""
        found = self._indexes.get((account, signature))
        if found is None:
            rows = self._traffic.rows
            found = (predicate, [k for k in keys if predicate(rows[-k[1]])])
            self._indexes[(account, signature)] = found
        return found[1]

    def _matching(self, keys: list[Key], predicate: Callable[[Row], bool]) -> Iterator[Row]:
        """Rows among `keys` that satisfy `predicate`, in key order."""
        rows = self._traffic.rows
        return (rows[-i] for _, i in keys if predicate(rows[-i]))

    def find(self, account: str, call_id: str) -> Row | None:
        """A visible row of `account` with this call id (`call_uuid` or `uuid`), if any."""
        with self._lock:
            keys = list(self._keys.get(account, []))
        rows = self._traffic.rows
        for _, i in reversed(keys):
            if call_id in (rows[-i].get("call_uuid"), rows[-i].get("uuid")):
                return rows[-i]
        return None
