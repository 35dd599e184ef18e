"""Tailing the partner CDR feed so that every CDR is returned exactly once.

The feed is a page-numbered list, newest-first by start time, that only grows: a CDR is
inserted when its call ends (start + ring + talk + lag), so long calls land *behind* rows
that were already read. The poller is a pure function of (cursor, `seen`, API answers): it
keeps no state outside the JSON cursor it returns, and a failed poll raises before the
caller commits anything, so the next poll simply starts again from the last committed cursor.

Definitions: `R` = longest ring (`max_ring_s`), `L` = longest publishing lag (`max_lag_s`),
`O` = `overlap_s`, `D = O - R - L` = the sweep's `min_duration`, `Hz` = `horizon_s`.
Cursor: `floor` (we watch calls with start >= floor), `head` (F: the newest start on page 1
at the start of the last successful poll), `sweep_head` (F at the last sweep),
`since_sweep` (successful polls since), `order`.

Algorithm (one poll):
1. Read page 1 unfiltered. First poll (no cursor): `floor = newest start - start_back`
   (default 0: only calls from "now" on, where now is the feed's own newest row, never the
   wall clock); an empty feed leaves the cursor unset.
2. Order check: if page 1's start times are not non-increasing, use the fallback (6).
3. Head scan: keep reading pages until one ends with a row older than
   `B = max(floor, F_prev - O)` (or the list ends). Rows older than the bound are ignored.
4. Every `sweep_every` polls, a sweep re-reads `min_duration=D` rows with start dates
   covering `[max(floor, sweep_head - Hz), F]` in `date_tz`, stopping the same way.
5. Every row read that is at or above its read's bound, not returned earlier in this poll
   and not in `seen(...)` is returned once (a CDR or a `Rejected`, keyed by its call id or
   a hash of the row), with its start time for seen-TTL expiry.
6. Fallback (order unknown): read every page of `[max(floor, head - Hz), today + 1]`.

Why exactly once. *At most once*: a row is returned only if its key is neither in this
poll's set nor in `seen`, and the caller commits the keys with the cursor in one transaction
(requires a seen-TTL longer than `Hz` + the sweep period). *At least once*, assuming the list
is insert-only with a fixed order:
- Lemma (page shifts). A scan that stops at page m whose last row is older than b has read
  every row visible when the scan started whose start is >= b: such a row's position only
  grows between requests, and at request m it lies before page m's end, so the difference
  (its page index - the requested page index) starts >= 0, ends <= 0 and drops by at most one
  per request; it is 0 at some request, which read that row.
- Short calls (duration below D, whichever of talk or ring+talk the filter uses) are visible
  by `s + R + D + L = s + O`. Take the first successful poll k starting after the row became
  visible at v: the previous one started at T' < v with F_prev <= T' (no row starts in the
  future), so `s >= v - O > F_prev - O = B`: by the lemma poll k reads it.
- Long calls (>= D) with `R + talk + L <= Hz`: take the first successful sweep after v; the
  previous sweep (or the first poll) recorded `sweep_head <= its start < v <= s + Hz`, so
  `s > sweep_head - Hz`: by the lemma the sweep reads it. Calls longer than the horizon are
  outside the guarantee: set `horizon_s` above the platform's maximum call length.
- Rows visible at the first poll with start >= floor are read by the first head scan.
- Fallback reads everything visible in its window, bounded by `head - Hz` (here head is the
  newest start read, so `Hz` must also cover one poll's duration).
A scan cut short by `max_pages_per_cycle` returns `complete=False` and does not advance the
cursor, so the next poll re-covers the same range.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from detector.domain import CDR, Rejected
from detector.errors import ConfigError
from detector.source.client import CdrApi, Page

Normalize = Callable[..., CDR | Rejected]
Seen = Callable[[Collection[str]], set[str]]


@dataclass(frozen=True)
class PollerConfig:
    """How the poller reads the feed; see the module docstring for what each bound guarantees."""

    per_page: int = 100
    overlap_s: float = 900.0
    max_ring_s: float = 130.0
    max_lag_s: float = 60.0
    horizon_s: float = 2 * 3600.0 + 600.0
    sweep_every: int = 6
    date_tz: str = "UTC"
    max_pages_per_cycle: int = 50
    start_back_s: float = 0.0
    account: str | None = None

    def __post_init__(self) -> None:
        if self.sweep_min_duration < 0:
            raise ConfigError("poll.overlap_s must be at least max_ring_s + max_lag_s")
        if self.horizon_s < self.overlap_s or self.sweep_every < 1 or self.per_page < 1:
            raise ConfigError("poll: need horizon_s >= overlap_s, sweep_every >= 1, per_page >= 1")
        try:
            ZoneInfo(self.date_tz)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"poll.date_tz: unknown time zone {self.date_tz!r}") from exc

    @property
    def sweep_min_duration(self) -> int:
        """D: calls shorter than this are visible within `overlap_s` of their start."""
        return int(self.overlap_s - self.max_ring_s - self.max_lag_s)


@dataclass
class PollResult:
    """What one poll found, for the caller to process and commit in one transaction."""

    cdrs: list[CDR]
    rejected: list[Rejected]
    cursor: dict[str, Any]
    new_ids: list[tuple[str, datetime]]
    requests: int = 0
    pages: int = 0
    complete: bool = True


@dataclass
class _Cursor:
    """The tailing position; see the module docstring for each field's meaning."""

    floor: datetime
    head: datetime
    sweep_head: datetime
    since_sweep: int = 0
    order: str = "newest"

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> _Cursor | None:
        if not raw or raw.get("floor") is None:
            return None
        return cls(
            floor=_iso(raw["floor"]),
            head=_iso(raw["head"]),
            sweep_head=_iso(raw["sweep_head"]),
            since_sweep=int(raw.get("since_sweep", 0)),
            order=str(raw.get("order", "newest")),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "v": 1,
            "floor": _fmt(self.floor),
            "head": _fmt(self.head),
            "sweep_head": _fmt(self.sweep_head),
            "since_sweep": self.since_sweep,
            "order": self.order,
        }


@dataclass
class _Run:
    """The findings of one poll so far (discarded if the poll raises)."""

    seen: Seen
    normalize: Normalize
    account: str | None
    keys: set[str] = field(default_factory=set)
    result: PollResult = field(default_factory=lambda: PollResult([], [], {}, []))

    def take(self, page: Page, bound: datetime | None, fallback_time: datetime) -> None:
        """Return each row of `page` at or above `bound` not returned before."""
        self.result.pages += 1
        fresh: dict[str, tuple[object, datetime | None]] = {}
        for row in page.rows:
            start = row_start(row)
            if bound is not None and start is not None and start < bound:
                continue
            key = row_key(row)
            if key not in self.keys:
                fresh.setdefault(key, (row, start))
        already = self.seen(list(fresh)) if fresh else set()
        for key, (row, start) in fresh.items():
            self.keys.add(key)
            if key not in already:
                self._add(key, row, start or fallback_time)

    def _add(self, key: str, row: object, at: datetime) -> None:
        if isinstance(row, Mapping):
            item = self.normalize(row, account=self.account)
        else:
            item = Rejected("not_an_object", f"row is a {type(row).__name__}", "")
        if isinstance(item, CDR):
            self.result.cdrs.append(item)
        else:
            self.result.rejected.append(item)
        self.result.new_ids.append((key, at))


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
        self.tz = ZoneInfo(config.date_tz)

    def poll(self, cursor: dict[str, Any] | None, seen: Seen) -> PollResult:
        """One cycle: every row not returned before, exactly once, and the next cursor."""
        cur = _Cursor.load(cursor)
        run = _Run(seen, self.normalize, self.config.account)
        before = self.api.stats.total
        first = self._fetch({"page": 1})
        head = _newest(first)
        if cur is None:
            if head is None:  # an empty feed: nothing to anchor on yet
                return self._finish(run, None, before)
            floor = head - _s(self.config.start_back_s)
            cur = _Cursor(floor, head, head, 0, _order(first) or "newest")
            bound = floor
        else:
            cur.order = _order(first) or cur.order
            bound = max(cur.floor, cur.head - _s(self.config.overlap_s))
        if cur.order != "newest":
            return self._fallback(run, cur, first, before)
        complete = self._scan(run, first, bound, {})
        new_head = max(cur.head, head or cur.head)
        nxt = _Cursor(cur.floor, new_head, cur.sweep_head, cur.since_sweep + 1, "newest")
        if complete and nxt.since_sweep >= self.config.sweep_every:
            complete = self._sweep(run, cur, new_head)
            nxt.sweep_head, nxt.since_sweep = new_head, 0
        run.result.complete = complete
        return self._finish(run, nxt if complete else cur, before)

    def backfill(
        self, start: date, end: date, account: str | None = None, seen: Seen | None = None
    ) -> Iterator[PollResult]:
        """Page through calls dated `start..end` (in `date_tz`), one result per page, deduped.

        Each result's cursor is a progress marker `{"backfill": {...}}`, not a tailing cursor.
        """
        run = _Run(seen or (lambda _ids: set()), self.normalize, account)
        params: dict[str, str | int] = {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        }
        number = 1
        while True:
            before = self.api.stats.total
            run.result = PollResult([], [], {}, [])
            page = self._fetch({**params, "page": number}, account=account)
            run.take(page, None, self.clock())
            run.result.cursor = {"backfill": {**params, "page": number}}
            run.result.requests = self.api.stats.total - before
            yield run.result
            if not page.rows or not page.more:
                return
            number += 1

    def _scan(self, run: _Run, first: Page, bound: datetime, extra: dict[str, str | int]) -> bool:
        """Read pages from `first` on until one ends below `bound`; False if cut short."""
        page, number = first, 1
        while True:
            run.take(page, bound, bound)
            if not page.rows or not page.more or _ends_below(page, bound):
                return True
            if number >= self.config.max_pages_per_cycle:
                return False
            number += 1
            page = self._fetch({**extra, "page": number})

    def _sweep(self, run: _Run, cur: _Cursor, head: datetime) -> bool:
        """Re-read recent long calls (`min_duration=D`) back to `sweep_head - horizon`."""
        low = max(cur.floor, cur.sweep_head - _s(self.config.horizon_s))
        extra: dict[str, str | int] = {
            **self.date_range(low, head),
            "min_duration": self.config.sweep_min_duration,
        }
        return self._scan(run, self._fetch({**extra, "page": 1}), low, extra)

    def _fallback(self, run: _Run, cur: _Cursor, first: Page, before: int) -> PollResult:
        """Order is not newest-first: read the whole horizon (correct, only slower)."""
        low = max(cur.floor, cur.head - _s(self.config.horizon_s))
        run.take(first, low, low)
        high = max(cur.head, self.clock())
        extra = self.date_range(low, high + timedelta(days=1))
        page, number = self._fetch({**extra, "page": 1}), 1
        while True:
            run.take(page, low, low)
            if not page.rows or not page.more:
                break
            if number >= self.config.max_pages_per_cycle:
                run.result.complete = False
                return self._finish(run, cur, before)
            number += 1
            page = self._fetch({**extra, "page": number})
        newest = max((at for _, at in run.result.new_ids), default=cur.head)
        head = max(cur.head, newest)
        return self._finish(run, _Cursor(cur.floor, head, head, 0, "other"), before)

    def date_range(self, low: datetime, high: datetime) -> dict[str, str | int]:
        """`start_date`/`end_date` (days in `date_tz`) covering instants `low..high`.

        >>> p = Poller.__new__(Poller)
        >>> p.tz = ZoneInfo("Asia/Kolkata")
        >>> low, high = datetime(2026, 3, 25, 18, tzinfo=UTC), datetime(2026, 3, 25, 19, tzinfo=UTC)
        >>> p.date_range(low, high)
        {'start_date': '2026-03-25', 'end_date': '2026-03-26'}
        """
        first, last = low.astimezone(self.tz).date(), high.astimezone(self.tz).date()
        return {"start_date": first.isoformat(), "end_date": last.isoformat()}

    def _fetch(self, params: Mapping[str, str | int], account: str | None = None) -> Page:
        query = {**params, "per_page": self.config.per_page}
        return self.api.list_cdrs(query, account=account or self.config.account)

    def _finish(self, run: _Run, cur: _Cursor | None, before: int) -> PollResult:
        run.result.cursor = cur.dump() if cur is not None else {"v": 1}
        run.result.requests = self.api.stats.total - before
        return run.result


def row_key(row: object) -> str:
    """A row's identity: its call id (`call_uuid` or `uuid`), else `row:` + a hash of the row."""
    if isinstance(row, Mapping):
        for name in ("call_uuid", "uuid"):
            value = row.get(name)
            if isinstance(value, str) and value:
                return value
    blob = json.dumps(row, sort_keys=True, default=str).encode()
    return "row:" + hashlib.sha256(blob).hexdigest()[:32]


def row_start(row: object) -> datetime | None:
    """The row's `start_time` as an aware UTC datetime, or None when missing or unparseable."""
    value = row.get("start_time") if isinstance(row, Mapping) else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _starts(page: Page) -> list[datetime]:
    return [s for s in map(row_start, page.rows) if s is not None]


def _newest(page: Page) -> datetime | None:
    return max(_starts(page), default=None)


def _order(page: Page) -> str | None:
    """ "newest" if page 1's start times never increase, "other" if they do, None if unknown."""
    starts = _starts(page)
    if len(set(starts)) < 2:
        return None
    return "newest" if all(a >= b for a, b in itertools.pairwise(starts)) else "other"


def _ends_below(page: Page, bound: datetime) -> bool:
    starts = _starts(page)
    return bool(starts) and starts[-1] < bound


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _fmt(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _iso(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)
