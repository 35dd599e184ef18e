"""Query parameters of the CDR list endpoints, parsed into a feed query for either shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from detector.simulate.feed import Query
from detector.simulate.wire import Row

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
# Field names carrying each filtered value, per response shape.
FIELDS: dict[str, dict[str, str]] = {
    "a": {"call_direction": "direction", "talk": "duration_seconds", "from_number": "from_number",
          "to_number": "to_number"},
    "b": {"call_direction": "call_direction", "talk": "billsec", "from_number": "caller_id_number",
          "to_number": "destination_number"},
}  # fmt: skip


FILTERS = ("call_direction", "status", "hangup_cause", "from_number", "to_number",
           "min_duration", "max_duration")  # fmt: skip
"""Row filters: a query's signature over these names its predicate, for the feed's indexes."""


class BadRequest(ValueError):
    """A query parameter is malformed; the message names it."""


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """`page` (1-based) and `per_page` (default 20, capped at 100)."""
    page = _int(params, "page", 1)
    per_page = min(_int(params, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    if page < 1 or per_page < 1:
        raise BadRequest("page and per_page must be positive")
    return page, per_page


def parse_query(params: Mapping[str, str], shape: str, account: str | None) -> Query:
    """The feed query for these parameters (dates are UTC days on the call's start time)."""
    start_min = _day(params, "start_date")
    end_day = _day(params, "end_date")
    start_max = None if end_day is None else end_day + 86_400.0 - 0.5
    checks = _checks(params, FIELDS[shape])
    predicate = None if not checks else (lambda row: all(check(row) for check in checks))
    signature = tuple(sorted((k, params[k]) for k in FILTERS if params.get(k) not in (None, "")))
    return Query(account, start_min, start_max, predicate, signature or None)


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    """An integer parameter or its default."""
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name}: not an integer: {text!r}") from None


def _day(params: Mapping[str, str], name: str) -> float | None:
    """Midnight UTC of a `YYYY-MM-DD` parameter, as epoch seconds."""
    text = params.get(name)
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: expected YYYY-MM-DD, got {text!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _status(value: object) -> str:
    """Status in one spelling: `no-answer` and `no_answer` compare equal."""
    return str(value).lower().replace("-", "_")


def _checks(params: Mapping[str, str], names: dict[str, str]) -> list[Callable[[Row], bool]]:
    """One predicate per filter present."""
    checks: list[Callable[[Row], bool]] = []
    if direction := params.get("call_direction"):
        checks.append(lambda r: r[names["call_direction"]] == direction.lower())
    if status := params.get("status"):
        checks.append(lambda r: _status(r["status"]) == _status(status))
    if cause := params.get("hangup_cause"):
        checks.append(lambda r: str(r["hangup_cause"]).upper() == cause.upper())
    for param in ("from_number", "to_number"):
        if text := params.get(param):
            checks.append(_contains(names[param], text))
    low, high = _int(params, "min_duration", -1), _int(params, "max_duration", -1)
    if low >= 0:
        checks.append(lambda r: _talk(r, names) >= low)
    if high >= 0:
        checks.append(lambda r: _talk(r, names) <= high)
    return checks


def _contains(field: str, text: str) -> Callable[[Row], bool]:
    """A predicate: the row's `field` contains `text` (so `9876543210` matches `+919876543210`)."""
    return lambda row: text in str(row[field])


def _talk(row: Row, names: dict[str, str]) -> int:
    """Talk seconds of a row."""
    value = row[names["talk"]]
    return value if isinstance(value, int) else 0
