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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from detector.domain import CDR, Rejected
from detector.source.client import Page

Normalize = Callable[..., CDR | Rejected]
Seen = Callable[[Collection[str]], set[str]]


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
class Collected:
    """What one poll has collected so far (discarded if the poll raises)."""

    seen: Seen
    normalize: Normalize
    account: str | None
    budget: int = 0
    keys: set[str] = field(default_factory=set)
    result: PollResult = field(default_factory=lambda: PollResult([], [], {}, []))

    def take(
        self,
        page: Page,
        bound: datetime | None,
        fallback_time: datetime,
        counted: set[str] | None = None,
    ) -> int:
        """Return each row of `page` at or above `bound` not returned before.

        Adds to `counted` the keys at or above `bound` that are not in `seen`; returns how
        many were added (the rows this read found that earlier polls had not returned).
        """
        self.result.pages += 1
        fresh: dict[str, tuple[object, datetime | None]] = {}
        for row in page.rows:
            start = row_start(row)
            if bound is not None and start is not None and start < bound:
                continue
            fresh.setdefault(row_key(row), (row, start))
        already = self.seen(list(fresh)) if fresh else set()
        added = 0
        for key, (row, start) in fresh.items():
            if key in already:
                continue
            if counted is not None and key not in counted:
                counted.add(key)
                added += 1
            if key not in self.keys:
                self.keys.add(key)
                self._add(key, row, start or fallback_time)
        return added

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


def starts(page: Page) -> list[datetime]:
    """Start times of a page's rows that have one, in page order."""
    return [s for s in map(row_start, page.rows) if s is not None]


def newest(page: Page) -> datetime | None:
    """The newest start time on a page."""
    return max(starts(page), default=None)


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
