"""Reading CDRs for an investigation: a range of days page by page, or one call by id.

A range is read one day at a time (`start_date` = `end_date` = the day), oldest day first, each
day paged to its end. Why by day: a day is a small, independent query (page numbers stay low,
a day's progress can be shown), and a call has exactly one start day, so deduplicating by call
id within the day is enough and memory is bounded by one day's calls. A day's calls are
returned sorted by start time, so the output is in time order whatever order the API pages in.

Exactly once: page-number pagination over a list that grows at its head can show a row on two
pages (dropped here by call id) but never skips one, and a closed day no longer grows. Each
page goes through the client's rate limit and retries (429 with its Retry-After, 5xx,
timeouts, malformed pages); if a page still fails, the error names the day it stopped at: the
days before it were complete, so rerunning from that day continues without loss or double.

Filters are sent to the API and also applied here to the normalised calls, with the semantics
below, so a filter the API ignores or spells differently still holds:

    direction      inbound | outbound
    status         answered | no-answer | busy | failed | cancelled (either spelling)
    hangup_cause   the cause text in either spelling (NO_ANSWER = No Answer)
    from / to      the number contains the digits given (9876543210 matches +919876543210)
    search         the caller or the callee number contains the text
    min/max_duration  talk seconds (billsec), inclusive
    context        equal (sip-trunking, voice-api)

In per-account mode (`poll.mode: per_account`) a query without an account reads every
account's own list (`GET /accounts`, then `/accounts/{id}/cdrs`); otherwise the global feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from detector.domain import CDR, Direction, Rejected, Status
from detector.enrich.causes import cause_key
from detector.errors import ConfigError, NotFoundError, RetryableSourceError
from detector.source.accounts import all_accounts
from detector.source.client import CdrApi, Page
from detector.source.rows import Normalize, row_key
from detector.source.values import STATUSES

MAX_PAGES_PER_DAY = 100_000
"""A day with more pages than this means the API keeps saying "more": stop, do not loop."""

MAX_DAYS = 366
"""Longest range one command reads (a year): longer is almost surely a typo in a date."""

_API_STATUS = {Status.NO_ANSWER: "no-answer"}
"""Status spellings sent to the API (the seed page's); others are the enum's value."""


@dataclass(frozen=True, slots=True)
class Days:
    """An inclusive range of calendar days (in the API's date filter timezone)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ConfigError(f"the range ends ({self.last}) before it starts ({self.first})")
        if len(self) > MAX_DAYS:
            raise ConfigError(f"{self} is {len(self)} days; read at most {MAX_DAYS} at a time")

    @classmethod
    def parse(cls, first: str, last: str) -> Days:
        """`--from`/`--to` as YYYY-MM-DD, with an error naming the option."""
        return cls(_day(first, "--from"), _day(last, "--to"))

    @classmethod
    def month(cls, text: str) -> Days:
        """A billing period given as YYYY-MM.

        >>> str(Days.month("2026-02"))
        '2026-02-01..2026-02-28'
        """
        try:
            year, month = (int(p) for p in text.strip().split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise ConfigError(f"--period: expected a month as YYYY-MM, got {text!r}") from None
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - timedelta(days=1))

    @classmethod
    def ending(cls, last: date, count: int) -> Days:
        """The `count` days up to and including `last`."""
        if count < 1:
            raise ConfigError(f"--days must be at least 1, got {count}")
        return cls(last - timedelta(days=count - 1), last)

    def previous(self) -> Days:
        """The range of the same length just before this one."""
        return Days(self.first - timedelta(days=len(self)), self.first - timedelta(days=1))

    def __len__(self) -> int:
        return (self.last - self.first).days + 1

    def __iter__(self) -> Iterator[date]:
        return (self.first + timedelta(days=i) for i in range(len(self)))

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{option}: expected a day as YYYY-MM-DD, got {text!r}") from None


@dataclass(frozen=True, slots=True)
class Filters:
    """The list filters of the API (module doc); None means not filtered."""

    direction: Direction | None = None
    status: Status | None = None
    hangup_cause: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    search: str | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    context: str | None = None

    @classmethod
    def parse(cls, **given: str | int | None) -> Filters:
        """Validated filters from command-line text, with errors naming the option."""
        direction, status = given.pop("direction", None), given.pop("status", None)
        low, high = given.pop("min_duration", None), given.pop("max_duration", None)
        for name, value in (("--min-duration", low), ("--max-duration", high)):
            if isinstance(value, int) and value < 0:
                raise ConfigError(f"{name} must be 0 or more seconds, got {value}")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            raise ConfigError(f"--min-duration ({low}) is above --max-duration ({high})")
        texts = {k: (str(v).strip() or None) if v is not None else None for k, v in given.items()}
        return cls(
            direction=_direction(direction),
            status=_status(status),
            min_duration=low if isinstance(low, int) else None,
            max_duration=high if isinstance(high, int) else None,
            **texts,
        )

    def params(self) -> dict[str, str | int]:
        """The API's query parameters for these filters."""
        pairs: dict[str, str | int | None] = {
            "call_direction": self.direction.value if self.direction else None,
            "status": _API_STATUS.get(self.status, self.status.value) if self.status else None,
            "hangup_cause": self.hangup_cause,
            "from_number": self.from_number,
            "to_number": self.to_number,
            "search": self.search,
            "min_duration": self.min_duration,
            "max_duration": self.max_duration,
            "context": self.context,
        }
        return {k: v for k, v in pairs.items() if v is not None}

    def admits(self, cdr: CDR) -> bool:
        """True when `cdr` passes every filter (module doc)."""
        return (
            (self.direction is None or cdr.direction is self.direction)
            and (self.status is None or cdr.status is self.status)
            and (self.hangup_cause is None or _same_cause(cdr, self.hangup_cause))
            and (self.from_number is None or self.from_number in cdr.from_number)
            and (self.to_number is None or self.to_number in cdr.to_number)
            and (self.search is None or self.search in cdr.from_number + " " + cdr.to_number)
            and (self.min_duration is None or cdr.talk_s >= self.min_duration)
            and (self.max_duration is None or cdr.talk_s <= self.max_duration)
            and (self.context is None or cdr.context == self.context)
        )

    def describe(self) -> str:
        """The filters as `name=value` pairs, for messages ("" when none)."""
        return " ".join(f"{k}={v}" for k, v in self.params().items())


def _direction(value: object) -> Direction | None:
    if value is None:
        return None
    try:
        return Direction(str(value).strip().lower())
    except ValueError:
        raise ConfigError(f"--direction: expected inbound or outbound, got {value!r}") from None


def _status(value: object) -> Status | None:
    if value is None:
        return None
    found = STATUSES.get(str(value).strip().lower().replace("-", "_"))
    if found is None:
        known = "answered, no-answer, busy, failed, cancelled"
        raise ConfigError(f"--status: expected one of {known}, got {value!r}")
    return found


def _same_cause(cdr: CDR, wanted: str) -> bool:
    return cause_key(cdr.hangup_cause) == cause_key(wanted)


@dataclass(slots=True)
class DayCalls:
    """One day's calls that passed the filters (sorted by start), and the rows rejected."""

    day: date
    cdrs: list[CDR] = field(default_factory=list)
    rejected: list[tuple[Rejected, object]] = field(default_factory=list)
    rows: dict[str, object] = field(default_factory=dict)
    """Every distinct row as received, by call id (for raw exports)."""
    scopes: dict[str, str] = field(default_factory=dict)
    """The account endpoint a row came from (per-account mode), by call id."""


@dataclass(frozen=True, slots=True)
class Recent:
    """One page of `Reader.recent`: its new calls in the span, and how far back it is whole."""

    cdrs: list[CDR]
    whole_from: datetime | None
    """Every call started from this time up to the span's end has been given by now (None:
    nothing can be promised yet, e.g. in a day read out of order)."""


PageSeen = Callable[[date, int], None]
"""Progress callback: a page of `n` rows of `day` arrived."""


class Reader:
    """Reads days of calls or single calls through one `CdrApi`."""

    def __init__(
        self,
        api: CdrApi,
        normalize: Normalize,
        *,
        per_account: bool = False,
        per_page: int = 100,
        on_page: PageSeen | None = None,
    ) -> None:
        self.api, self.normalize = api, normalize
        self.per_account, self.per_page = per_account, per_page
        self.on_page = on_page
        self._accounts: list[str] | None = None

    def accounts(self) -> list[str]:
        """Every customer account's auth id (`GET /accounts`, read once)."""
        if self._accounts is None:
            rows = all_accounts(self.api)
            self._accounts = sorted({str(r["auth_id"]) for r in rows if r.get("auth_id")})
        return self._accounts

    def days(self, days: Days, filters: Filters, account: str | None) -> Iterator[DayCalls]:
        """Each day of `days` in turn, oldest first (module doc)."""
        for day in days:
            yield self.day(day, filters, account)

    def day(self, day: date, filters: Filters, account: str | None) -> DayCalls:
        """All calls of one day for `account`, every account (per-account mode) or the feed."""
        scopes: list[str | None] = [account]
        if account is None and self.per_account:
            scopes = list(self.accounts())
        found = DayCalls(day)
        for scope in scopes:
            self._read_day(found, day, filters, scope)
        for key, row in found.rows.items():
            item = self.normalize(row, account=account or found.scopes.get(key))
            if isinstance(item, Rejected):
                found.rejected.append((item, row))
            elif filters.admits(item):
                found.cdrs.append(item)
        found.cdrs.sort(key=lambda c: (c.start, c.call_id))
        return found

    def _read_day(self, found: DayCalls, day: date, filters: Filters, scope: str | None) -> None:
        for page in self._pages(day, filters.params(), scope):
            for row in page.rows:
                key = row_key(row)
                if key not in found.rows:
                    found.rows[key] = row
                    if scope is not None:
                        found.scopes[key] = scope
            if self.on_page is not None:
                self.on_page(day, len(page.rows))

    def _pages(
        self, day: date, params: Mapping[str, str | int], scope: str | None
    ) -> Iterator[Page]:
        """The pages of one day's list from page 1 until the API says there is no more."""
        dates = {"start_date": day.isoformat(), "end_date": day.isoformat()}
        for number in range(1, MAX_PAGES_PER_DAY + 1):
            page = self._page({**params, **dates, "page": number, "per_page": self.per_page},
                              scope, day)  # fmt: skip
            yield page
            if not page.rows or not page.more:
                return
        raise RetryableSourceError(
            f"{day}: the API still said 'more' after {MAX_PAGES_PER_DAY} pages; stopped",
            reason="runaway",
        )

    def recent(self, account: str, since: datetime, until: datetime) -> Iterator[Recent]:
        """The account's calls started in [`since`, `until`], newest first, a page at a time.

        For when the newest calls matter first (an alert's briefing): the UTC days from
        `until`'s back to `since`'s, each paged from its head. The list is newest-first by
        start (the API notes' working assumption), so once a page reaches calls older than
        `since` the rest of the day is older still and reading stops; `whole_from` is the
        oldest start read so far. Pagination over a growing list only repeats rows (dropped by
        call id), never skips one. A new row newer than one already read means the day is not
        newest-first: that day is then read to its end and only whole days are promised —
        slower, never wrong.
        """
        seen: set[str] = set()
        day, first = until.astimezone(UTC).date(), since.astimezone(UTC).date()
        while day >= first:
            yield from self._recent_day(day, account, since, until, seen)
            day -= timedelta(days=1)

    def _recent_day(
        self, day: date, account: str, since: datetime, until: datetime, seen: set[str]
    ) -> Iterator[Recent]:
        oldest: datetime | None = None
        ordered = True
        for page in self._pages(day, {}, account):
            fresh: list[CDR] = []
            for row in page.rows:
                key = row_key(row)
                item = None if key in seen else self.normalize(row, account=account)
                seen.add(key)
                if item is None or isinstance(item, Rejected):
                    continue
                ordered = ordered and (oldest is None or item.start <= oldest)
                oldest = item.start if oldest is None else min(oldest, item.start)
                fresh.append(item)
            done = not page.rows or not page.more
            whole = datetime.combine(day, time(), UTC) if done else oldest if ordered else None
            yield Recent([c for c in fresh if since <= c.start <= until], whole)
            if done or (ordered and oldest is not None and oldest < since):
                return

    def _page(self, params: Mapping[str, str | int], account: str | None, day: date) -> Page:
        try:
            return self.api.list_cdrs(params, account=account)
        except NotFoundError:
            raise NotFoundError(_unknown_account(account)) from None
        except RetryableSourceError as exc:
            raise RetryableSourceError(
                f"{exc}; stopped in {day} (page {params['page']}): the days before it are "
                f"complete, rerun with --from {day} to continue",
                reason=exc.reason,
                retry_after=exc.retry_after,
            ) from None

    def call(self, account: str, call_id: str) -> tuple[dict[str, Any], CDR | Rejected]:
        """One call's full record and its normalised form; NotFoundError names what is missing."""
        try:
            row = self.api.get_cdr(account, call_id)
        except NotFoundError:
            try:
                self.api.list_cdrs({"per_page": 1}, account=account)
            except NotFoundError:
                raise NotFoundError(_unknown_account(account)) from None
            raise NotFoundError(
                f"account {account} has no call {call_id!r} (the API answered 404): check the "
                "id, or pass the --account the call belongs to"
            ) from None
        return row, self.normalize(row, account=account)

    def find_account(self, call_id: str, on_try: Callable[[str], None] | None = None) -> str:
        """The account that has `call_id`, asking each account in turn (one request each)."""
        for account in self.accounts():
            if on_try is not None:
                on_try(account)
            try:
                self.api.get_cdr(account, call_id)
            except NotFoundError:
                continue
            return account
        raise NotFoundError(
            f"none of the {len(self.accounts())} accounts has a call {call_id!r}: check the id"
        )


def _unknown_account(account: str | None) -> str:
    return (
        f"unknown account {account!r} (the API answered 404): check the id (customer ids "
        "look like MA_...; GET /accounts lists them)"
        if account is not None
        else "the API answered 404 for the global CDR list: check api.url"
    )
