"""Rows of feed pages: their identity and start time, page order, and what one poll collected.

Split from the poller so that the tailing algorithm (`poller.py`) reads apart from the
bookkeeping of the rows it returns: dedupe within a poll and against committed ids,
normalisation, and the `PollResult` handed to the caller.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from detector.domain import CDR, Rejected
from detector.source.client import Page
from detector.source.values import MAX_ID_LEN

Normalize = Callable[..., CDR | Rejected]
Seen = Callable[[Collection[str]], set[str]]


@dataclass(frozen=True)
class TooLarge:
    """A single row the API sent more bytes for than the client's cap: quarantined unread.

    `head` is the start of its body (its identity, so re-reads find it in `seen`); `where`
    names the request that met it.
    """

    head: bytes
    where: str


@dataclass(frozen=True)
class Gap:
    """Feed time one list could not read within a cycle (a backlog after an outage, a first
    start far back, a burst): read before that list goes on, so never lost.

    `low`..`high`: start times still to read when it opened (or that it read, when closed).
    """

    tier: str
    low: datetime
    high: datetime

    @property
    def seconds(self) -> float:
        """Its length in feed seconds."""
        return max(0.0, (self.high - self.low).total_seconds())


@dataclass
class PollResult:
    """What one poll found, for the caller to process and commit in one transaction.

    `keep_from`: every row a later poll from this cursor can return starts at or after it (the
    low-water mark), so committed ids of rows older than it may be forgotten, and no sooner.
    `opened`/`closed`: gaps that began or were read to their end in this poll; `unread_s`: the
    feed seconds the pending gaps still have to read.
    """

    cdrs: list[CDR]
    rejected: list[Rejected]
    cursor: dict[str, Any]
    new_ids: list[tuple[str, datetime]]
    requests: int = 0
    pages: int = 0
    complete: bool = True
    keep_from: datetime | None = None
    opened: list[Gap] = field(default_factory=list)
    closed: list[Gap] = field(default_factory=list)
    unread_s: float = 0.0
    beyond: list[CDR] = field(default_factory=list)
    """CDRs of calls longer than the horizon (also in `cdrs`): read late, counted, kept."""

    def merge(self, other: PollResult) -> None:
        """Add another poll's findings (a per-account sub-poll) to this one; not the cursor."""
        self.cdrs.extend(other.cdrs)
        self.rejected.extend(other.rejected)
        self.new_ids.extend(other.new_ids)
        self.requests += other.requests
        self.pages += other.pages
        self.complete = self.complete and other.complete
        lows = [t for t in (self.keep_from, other.keep_from) if t is not None]
        self.keep_from = min(lows, default=None)
        self.opened.extend(other.opened)
        self.closed.extend(other.closed)
        self.unread_s += other.unread_s
        self.beyond.extend(other.beyond)


@dataclass
class Collected:
    """What one poll has collected so far (discarded if the poll raises)."""

    seen: Seen
    normalize: Normalize
    account: str | None
    budget: int = 0
    latest: datetime | None = None
    """The newest believable time (the poller's clock plus the allowed skew): a CDR ending
    later is rejected as future_time and no start beyond it counts as a row's time."""
    horizon_s: float | None = None
    """The longest call the poller promises to read in time: a CDR talking longer is counted
    (`PollResult.beyond`). The id of any CDR whose ring + talk exceeds it is kept like an
    unplaced row's: it may sit in the beyond-horizon list (an API filtering on ring + talk, or
    one ignoring max_duration), which is read to the floor, so no age bounds its re-reading."""
    keys: set[str] = field(default_factory=set)
    result: PollResult = field(default_factory=lambda: PollResult([], [], {}, []))

    def take(
        self,
        page: Page,
        bound: datetime | None,
        counted: set[str] | None = None,
        *,
        keep: bool = False,
    ) -> int:
        """Return each row of `page` at or above `bound` not returned before.

        Adds to `counted` the keys at or above `bound` that are not in `seen`; returns how
        many were added (the rows this read found that earlier polls had not returned).
        `keep`: the rows' ids are kept in `seen` whatever their age (`UNPLACED`): the list
        has no delay bound, so any of its rows may be read again at any time.
        """
        self.result.pages += 1
        fresh: dict[str, tuple[object, datetime]] = {}
        latest = self.latest
        for row in page.rows:
            start = row_start(row)
            if start is None or (latest is not None and start > latest) or keep:
                at = UNPLACED  # no position (or no bound): kept in `seen` as long as it is served
            elif bound is not None and start < bound:
                continue
            else:
                at = start
            fresh.setdefault(row_key(row), (row, at))
        already = self.seen(list(fresh)) if fresh else set()
        added = 0
        for key, (row, at) in fresh.items():
            if key in already:
                continue
            if counted is not None and key not in counted:
                counted.add(key)
                added += 1
            if key not in self.keys:
                self.keys.add(key)
                self._add(key, row, at)
        return added

    def _add(self, key: str, row: object, at: datetime) -> None:
        if isinstance(row, Mapping):
            item = self.normalize(row, account=self.account)
        elif isinstance(row, TooLarge):
            detail = f"a single row is larger than api.max_response_bytes ({row.where}); not read"
            item = Rejected("row_too_large", detail, "", row.head.decode(errors="replace"))
            self.result.rejected.append(item)
            self.result.new_ids.append((key, at))
            return
        else:
            item = Rejected("not_an_object", f"row is a {type(row).__name__}", "")
        latest = self.latest
        if isinstance(item, CDR) and latest is not None and item.end > latest:
            detail = f"end_time {item.end.isoformat()} is after now + the allowed clock skew"
            item = Rejected("future_time", detail, item.call_id)
        if isinstance(item, CDR):
            self.result.cdrs.append(item)
            horizon = self.horizon_s
            if horizon is not None and item.ring_s + item.talk_s > horizon:
                at = UNPLACED  # it may sit in the beyond-horizon list, which has no bound
                if item.talk_s > horizon:
                    self.result.beyond.append(item)
        else:
            self.result.rejected.append(replace(item, row=raw_text(row)))
        self.result.new_ids.append((key, at))


UNPLACED = datetime(2100, 1, 1, tzinfo=UTC)
"""The `seen` time of a row without a believable start (missing, unparseable, in the future):
such a row sits at no known place in the list and may be read again at any time, so its id is
kept until then rather than by event time (poison is rare; its rows are also in `rejected`)."""

RAW_LIMIT = 16_384
"""Characters of a rejected row's JSON kept in the `rejected` table."""


def raw_text(row: object) -> str:
    """The row as compact JSON for the `rejected` table, cut at `RAW_LIMIT` characters."""
    try:
        text = json.dumps(row, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(row)
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + "…"


def row_key(row: object) -> str:
    """A row's identity: its call id (`call_uuid` or `uuid`), else `row:` + a hash of the row.

    A call id longer than `MAX_ID_LEN` (poison) is hashed too, so it never bloats `seen`.
    """
    if isinstance(row, TooLarge):
        return _hashed("big:", row.head)
    if isinstance(row, Mapping):
        for name in ("call_uuid", "uuid"):
            value = row.get(name)
            if isinstance(value, str) and value:
                return value if len(value) <= MAX_ID_LEN else _hashed("id:", value.encode())
    try:
        blob = json.dumps(row, sort_keys=True, default=str).encode()
    except (TypeError, ValueError):
        blob = repr(row).encode()
    return _hashed("row:", blob)


def _hashed(prefix: str, blob: bytes) -> str:
    return prefix + hashlib.sha256(blob).hexdigest()[:32]


def row_start(row: object, latest: datetime | None = None) -> datetime | None:
    """The row's `start_time` as an aware UTC datetime; None when missing, unparseable,
    unrepresentable in UTC, or later than `latest` (a start in the future is no position)."""
    value = row.get("start_time") if isinstance(row, Mapping) else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        start = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return None if latest is not None and start > latest else start


def starts(page: Page, latest: datetime | None = None) -> list[datetime]:
    """Start times of a page's rows that have one (and none past `latest`), in page order."""
    times = (row_start(row, latest) for row in page.rows)
    return [s for s in times if s is not None]


def newest(page: Page, latest: datetime | None = None) -> datetime | None:
    """The newest start time on a page, ignoring starts later than `latest`."""
    return max(starts(page, latest), default=None)


def order(page: Page) -> str | None:
    """ "newest" if page 1's start times never increase, "other" if they do, None if unknown."""
    times = starts(page)
    if len(set(times)) < 2:
        return None
    return "newest" if all(a >= b for a, b in itertools.pairwise(times)) else "other"


def ends_below(page: Page, bound: datetime) -> bool:
    """True when the page's last row starts before `bound`."""
    times = starts(page)
    return bool(times) and times[-1] < bound
