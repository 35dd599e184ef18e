"""`cdr-detector report no-answer`: no-answer rate per account, trunk, destination and inbound
number over the last N days, against the N days before, with the problems it points at.

The no-answer rate is `detector.enrich.kpi`'s: calls with status no-answer over all attempts.
The partner API page reads a high rate as "number configuration issues or customer routing
problems"; the report flags what it can tell apart (thresholds below, each with its reason):

    number    an inbound number (DID) that mostly rings out: check where it forwards
              (IVR, extension, mobile off) -- a number configuration issue
    trunk     one trunk of an account answers far less than the account as a whole:
              check that trunk's routing
    route     a destination country whose no-answer rate jumped for the accounts calling it,
              still so without the account contributing most (one account's surge is
              that account's problem, flagged as `rose`): the route degraded
    rose      an account whose no-answer rate rose sharply against the previous period

Rows with fewer than `MIN_CALLS` attempts are listed but never flagged (a share of a handful
of calls is noise). The period ends with `--until` (default yesterday: the last complete
day, so both periods are whole days), in the API's date-filter timezone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from detector.domain import CDR, Direction
from detector.enrich.kpi import Tally
from detector.errors import ConfigError, NoDataError
from detector.investigate.output import (
    FORMATS,
    NO_COUNTRY,
    pct,
    print_tables,
    table,
    write_csv,
    write_json,
)
from detector.investigate.reader import Days, Filters
from detector.investigate.session import Where, day_progress, session

MIN_CALLS = 20
"""Attempts a row needs in the period before it is flagged: below it a share is noise."""
NUMBER_RINGS_OUT = 0.6
"""An inbound number is flagged when 60 % of its calls ring out: a working DID with people
behind it answers most calls, so this is a forwarding or IVR problem, not busy staff."""
TRUNK_GAP = 0.2
"""A trunk is flagged when its rate is 20 points above its account's (the account's other
trunks carry the same customers, so the gap is the trunk's routing)."""
ROUTE_JUMP = 0.15
"""A destination is flagged when its rate rose 15 points against the previous period."""
ACCOUNT_JUMP = 0.10
"""An account is flagged when its rate rose 10 points against the previous period."""
GROUPS = ("account", "trunk", "destination", "number")
"""Groups the report shows; "pair" rows (destination and account) only serve `route`."""
_PAIR = "\t"


@dataclass(slots=True)
class Row:
    """One group's tallies in the period and the previous one, and its flag."""

    group: str
    key: str
    account: str
    now: Tally = field(default_factory=Tally)
    before: Tally = field(default_factory=Tally)
    flag: str = ""

    @property
    def change(self) -> float | None:
        """Rate now minus rate before (None when either is undefined)."""
        a, b = self.now.kpis().no_answer_rate, self.before.kpis().no_answer_rate
        return None if a is None or b is None else a - b

    def to_json(self) -> dict[str, Any]:
        """The CSV / JSON row."""
        return {
            "group": self.group, "key": self.key, "account": self.account,
            "calls": self.now.attempts, "no_answer": self.now.no_answer,
            "rate": self.now.kpis().no_answer_rate, "previous_calls": self.before.attempts,
            "previous_rate": self.before.kpis().no_answer_rate, "change": self.change,
            "flag": self.flag,
        }  # fmt: skip


def _keys(cdr: CDR) -> Iterable[tuple[str, str]]:
    yield "account", cdr.account
    yield "trunk", cdr.trunk or "(none)"
    if cdr.direction is Direction.OUTBOUND:
        country = cdr.dest_country or NO_COUNTRY
        yield "destination", country
        yield "pair", f"{country}{_PAIR}{cdr.account}"
    else:
        yield "number", cdr.to_number


def tally(now: Iterable[CDR], before: Iterable[CDR]) -> dict[tuple[str, str], Row]:
    """Rows of every group and key over both periods."""
    rows: dict[tuple[str, str], Row] = {}
    for part, cdrs in (("now", now), ("before", before)):
        for cdr in cdrs:
            for group, key in _keys(cdr):
                row = rows.setdefault((group, key), Row(group, key, cdr.account))
                (row.now if part == "now" else row.before).add(cdr)
    return rows


def flag(rows: dict[tuple[str, str], Row]) -> None:
    """Set each row's flag (module doc)."""
    accounts = {key: row for (group, key), row in rows.items() if group == "account"}
    for row in rows.values():
        rate = row.now.kpis().no_answer_rate
        if row.now.attempts < MIN_CALLS or rate is None:
            continue
        change = row.change if row.before.attempts >= MIN_CALLS else None
        if row.group == "number" and rate >= NUMBER_RINGS_OUT:
            row.flag = f"number configuration: {rate:.0%} of inbound calls ring out"
        elif row.group == "trunk":
            row.flag = _trunk_flag(row, rate, accounts.get(row.account))
        elif row.group == "destination" and change is not None and change >= ROUTE_JUMP:
            row.flag = _route_flag(row, rows)
        elif row.group == "account" and change is not None and change >= ACCOUNT_JUMP:
            row.flag = f"rose {change * 100:+.0f} points"


def _trunk_flag(row: Row, rate: float, account: Row | None) -> str:
    overall = account.now.kpis().no_answer_rate if account else None
    if overall is None or rate - overall < TRUNK_GAP:
        return ""
    return f"routing: {rate - overall:+.0%} against the account's {overall:.0%}"


def _route_flag(row: Row, rows: dict[tuple[str, str], Row]) -> str:
    """The rise of a destination, unless one account carries it (then it is that account's)."""
    pairs = [r for (group, key), r in rows.items() if group == "pair" and _country(key) == row.key]
    if not pairs:
        return ""
    top = max(pairs, key=lambda r: (r.now.no_answer, r.account))
    now, before = Tally(), Tally()
    for pair in pairs:
        if pair is not top:
            now.merge(pair.now)
            before.merge(pair.before)
    a, b = now.kpis().no_answer_rate, before.kpis().no_answer_rate
    if min(now.attempts, before.attempts) < MIN_CALLS or a is None or b is None:
        return ""
    if a - b < ROUTE_JUMP:
        return ""
    return f"route degraded: {(row.change or 0.0) * 100:+.0f} points, across accounts"


def _country(pair_key: str) -> str:
    return pair_key.split(_PAIR, 1)[0]


def no_answer_command(
    where: Where,
    *,
    days: int,
    until: str | None,
    account: str | None,
    top: int,
    fmt: str,
) -> list[Row]:
    """Read both periods, tally, flag and print; return the rows."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if top < 1:
        raise ConfigError(f"--top must be at least 1, got {top}")
    with session(where) as current:
        last = Days.parse(until, until).first if until else current.today() - timedelta(days=1)
        period = Days.ending(last, days)
        both = Days(period.previous().first, period.last)
        now: list[CDR] = []
        before: list[CDR] = []
        with day_progress(current, both, "reading"):
            for found in current.reader.days(both, Filters(), account):
                (now if found.day >= period.first else before).extend(found.cdrs)
    if not now:
        raise NoDataError(f"no calls for {account or 'any account'} on {period}")
    rows = tally(now, before)
    flag(rows)
    ordered = _ordered(rows.values(), top)
    _print(ordered, fmt, period, last)
    return ordered


def _ordered(rows: Iterable[Row], top: int) -> list[Row]:
    """Per group: flagged rows, then rows with enough calls to judge, each by rate (highest
    first); `top` rows per group."""
    out: list[Row] = []
    for group in GROUPS:
        mine = [r for r in rows if r.group == group]
        mine.sort(key=_rank)
        out.extend(mine[:top])
    return out


def _rank(row: Row) -> tuple[bool, bool, float, str]:
    rate = row.now.kpis().no_answer_rate or 0.0
    return (not row.flag, row.now.attempts < MIN_CALLS, -rate, row.key)


def _print(rows: list[Row], fmt: str, period: Days, last: date) -> None:
    body = [r.to_json() for r in rows]
    if fmt == "csv":
        write_csv(sys.stdout, list(body[0]), body)
    elif fmt == "json":
        write_json(sys.stdout, {"period": str(period), "previous": str(period.previous()),
                                "rows": body})  # fmt: skip
    else:
        title = f"No-answer rate {period} against {period.previous()} (until {last})"
        columns = ("group", "key", "calls", "no answer", "rate", "before", "change", "flag")
        print_tables([table(title, columns, [_cells(r) for r in rows])])


def _cells(row: Row) -> tuple[str, ...]:
    change = row.change
    return (
        row.group, row.key, f"{row.now.attempts:,}", f"{row.now.no_answer:,}",
        pct(row.now.kpis().no_answer_rate), pct(row.before.kpis().no_answer_rate),
        "-" if change is None else f"{change * 100:+.1f} pts", row.flag,
    )  # fmt: skip
