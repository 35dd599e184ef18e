"""Wire row (shape A or B) → `CDR`, or `Rejected` with a reason; pure, never raises.

Field names per shape live in `detector.source.wire`. Rules applied here:
- Account: `account_auth_id`, else `account_id`, else the `account=` argument.
- Times: ISO 8601 with "Z", an offset, or naive (read as UTC) → aware UTC. Other types, or
  unparsable text → bad_time; so are `end < start` and an answer outside [start, end].
- Talk seconds: `duration_seconds` (A) or `billsec` (B); else `duration - ring_time` (B);
  else end − answer for answered calls; else 0.
- Ring seconds: `ring_duration_seconds` / `ring_time`; else answer − start for answered
  calls (or (end − start) − talk when the answer time is missing); else end − start.
- Numbers: see `to_e164`. A number that is not text (or an int) is bad_number.
- Optional numeric fields present but not finite numbers → bad_number_value, like durations.
- Poison is quarantined, never passed on (issue 10): times outside 2000..2099 →
  time_out_of_range (a year-9999 row would overflow the windows' local-hour arithmetic); ids
  over 128 characters and optional text over 256 → field_too_long; talk or ring above a week,
  a cost beyond ±1e9, hangup/SIP codes outside 0..99999 and MOS outside 0..5 →
  value_out_of_range. Limits live in `detector.source.values`.
- Unknown fields are ignored; null and "" count as absent.

Speed (issue 4): a dict row first tries `detector.source.fastrow.read_fast`, a one-pass reader
of the everyday JSON types (~4x cheaper); any unusual value sends the row to the general path
below, which alone decides rejections. Both give identical results (rules they share live in
`detector.source.values`); tests/test_fast_paths.py compares them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar

from detector.domain.cdr import CDR, Rejected, Status
from detector.enrich.numbers import classify
from detector.source import wire
from detector.source.fastrow import FALLBACK, read_fast
from detector.source.values import (
    DIRECTIONS,
    EARLIEST,
    LATEST,
    MAX_CALL_S,
    MAX_CODE,
    MAX_COST,
    MAX_ID_LEN,
    MAX_MOS,
    MAX_NUMBER_LEN,
    MAX_TEXT_LEN,
    STATUSES,
    int_text,
    ring_from_times,
    talk_from,
    text_value,
)

_SEPARATORS = str.maketrans("", "", " -.()/")
_INDIA = "+91"
_T = TypeVar("_T")
_HUGE = 2**1000
"""Ints inside ±_HUGE convert to float without overflow."""


class _Bad(Exception):
    """Internal: one rejection, raised by the field helpers and caught by `normalize`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def normalize(row: object, *, account: str | None = None) -> CDR | Rejected:
    """Fold one wire row of either shape into a `CDR`, or say why it cannot be used.

    `account` is the customer id of a per-account endpoint, used when the row has none.
    """
    if row.__class__ is dict:
        try:  # the everyday row in one pass; anything unusual gets the general path below
            return read_fast(row, account)
        except FALLBACK:
            pass
    if not isinstance(row, Mapping):
        return Rejected("not_an_object", f"expected an object, got {type(row).__name__}")
    call_id = ""
    try:
        call_id = _call_id(row)
        return _build(row, call_id, account)
    except _Bad as bad:
        return Rejected(bad.reason, bad.detail, call_id)


def to_e164(raw: str) -> str:
    """E.164 form of a number when it can be told, else the text as given (stripped).

    Separators (space - . ( ) /) are dropped. "00…" is an international prefix. Bare digits:
    10 digits not starting with 0 are an Indian national number (the Vobiz home market) and
    get "+91"; "0" + 10 digits is the same with the trunk prefix; 11+ digits not starting with 0
    already carry a country code and get "+". Anything else (short codes, "anonymous") is kept.

    >>> to_e164("919876543210"), to_e164("9876543210"), to_e164("+44 20 7946-0000")
    ('+919876543210', '+919876543210', '+442079460000')
    >>> to_e164("0044 20 7946 0000"), to_e164("09876543210"), to_e164("anonymous")
    ('+442079460000', '+919876543210', 'anonymous')
    """
    text = raw.strip()
    compact = text.translate(_SEPARATORS)
    body = compact[1:] if compact[:1] == "+" else compact
    if not (body.isascii() and body.isdigit()):
        return text
    if compact[:1] == "+":
        return compact
    return _bare_digits(body) or text


def _bare_digits(body: str) -> str | None:
    """E.164 for a string of digits without "+", or None when it cannot be told."""
    size = len(body)
    if body.startswith("00") and size > 4:
        return "+" + body[2:]
    if size == 10 and body[0] != "0":
        return _INDIA + body
    if size == 11 and body[0] == "0":
        return _INDIA + body[1:]
    if size >= 11 and body[0] != "0":
        return "+" + body
    return None


def _build(row: Mapping[object, object], call_id: str, account: str | None) -> CDR:
    acct = _account(row, account)
    from_number = _number(row, wire.FROM_NUMBER)
    to_number = _number(row, wire.TO_NUMBER)
    start = _required_time(row, wire.START)
    end = _required_time(row, wire.END)
    if end < start:
        raise _Bad("bad_time", "end_time is before start_time")
    answer = _time(row, wire.ANSWER)
    if answer is not None and not start <= answer <= end:
        raise _Bad("bad_time", "answer_time is outside start_time..end_time")
    status = _lookup(row, wire.STATUS, STATUSES, "bad_status")
    direction = _lookup(row, wire.DIRECTION, DIRECTIONS, "bad_direction")
    talk = _talk(row, status, answer, end)
    ring = _ring(row, status=status, start=start, answer=answer, end=end, talk=talk)
    info = classify(to_number)
    return CDR(
        call_id=call_id,
        account=acct,
        direction=direction,
        status=status,
        start=start,
        answer=answer,
        end=end,
        talk_s=talk,
        ring_s=ring,
        from_number=from_number,
        to_number=to_number,
        hangup_cause=_text(row, wire.HANGUP_CAUSE),
        hangup_code=_code(row, wire.HANGUP_CODE),
        cost=_within(wire.COST[0], _optional_float(row, wire.COST), MAX_COST, -MAX_COST) or 0.0,
        currency=_text(row, wire.CURRENCY),
        trunk=_text(row, wire.TRUNK),
        context=_text(row, wire.CONTEXT),
        dest_country=info.country,
        dest_type=info.type,
        sip_code=_code(row, wire.SIP_CODE),
        mos=_within(wire.MOS[0], _optional_float(row, wire.MOS), MAX_MOS),
        user_agent=_text(row, wire.USER_AGENT),
    )


def _first(row: Mapping[object, object], names: tuple[str, ...]) -> tuple[str, object]:
    """The first (name, value) among `names` that is present and not empty; value None if none."""
    get = row.get
    for name in names:
        value = get(name)
        if value is None or (value.__class__ is not float and value == ""):
            continue
        return name, value
    return names[0], None


def _identifier(value: object) -> str | None:
    """Ids and account ids: text or an integer, stripped; None for anything else."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return int_text(value)
    return None


def _call_id(row: Mapping[object, object]) -> str:
    name, value = _first(row, wire.CALL_ID)
    call_id = _identifier(value)
    if not call_id:
        raise _Bad("missing_field", f"{name} is missing or not text")
    return _short(name, call_id, MAX_ID_LEN)


def _account(row: Mapping[object, object], default: str | None) -> str:
    name, value = _first(row, wire.ACCOUNT)
    account = _identifier(value) if value is not None else default
    if not account:
        raise _Bad("missing_field", f"{name} is missing and no account was given")
    return _short(name, account, MAX_ID_LEN)


def _number(row: Mapping[object, object], names: tuple[str, ...]) -> str:
    name, value = _first(row, names)
    if value is None:
        raise _Bad("missing_field", f"{name} is missing")
    text = _identifier(value)
    if text == "":
        raise _Bad("missing_field", f"{name} is blank")
    if text is None or len(text) > MAX_NUMBER_LEN:
        raise _Bad("bad_number", f"{name} is not a phone number: {_show(value)}")
    return to_e164(text)


def _time(row: Mapping[object, object], names: tuple[str, ...]) -> datetime | None:
    name, value = _first(row, names)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad("bad_time", f"{name} is not an ISO 8601 string: {_show(value)}")
    try:
        ts = datetime.fromisoformat(value.strip())
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        elif ts.tzinfo is not UTC:
            ts = ts.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad("bad_time", f"{name} is not an ISO 8601 time: {_show(value)}") from None
    if not EARLIEST <= ts < LATEST:
        raise _Bad("time_out_of_range", f"{name} {_show(value)} is outside 2000..2099")
    return ts


def _required_time(row: Mapping[object, object], names: tuple[str, ...]) -> datetime:
    ts = _time(row, names)
    if ts is None:
        raise _Bad("missing_field", f"{names[0]} is missing")
    return ts


def _lookup(
    row: Mapping[object, object], names: tuple[str, ...], table: dict[str, _T], reason: str
) -> _T:
    name, value = _first(row, names)
    if isinstance(value, str):
        found = table.get(value)  # keys are already in normal form: a hit needs no folding
        if found is not None:
            return found
        found = table.get(value.strip().lower().replace("-", "_").replace(" ", "_"))
        if found is not None:
            return found
    raise _Bad(reason, f"{name} is missing or unknown: {_show(value)}")


def _number_value(name: str, value: object) -> float:
    """A finite float from an int, float or numeric text; bad_number_value otherwise."""
    cls = value.__class__
    if cls is float or (cls is int and -_HUGE < value < _HUGE):  # type: ignore[operator]
        number = float(value)  # type: ignore[arg-type]  # JSON numbers: nothing to parse
        if number - number == 0.0:  # finite (inf - inf and nan - nan are nan)
            return number
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(name)
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _Bad("bad_number_value", f"{name} is not a number: {_show(value)}") from None
    if not math.isfinite(number):
        raise _Bad("bad_number_value", f"{name} is not finite: {_show(value)}")
    return number


def _optional_float(row: Mapping[object, object], names: tuple[str, ...]) -> float | None:
    name, value = _first(row, names)
    return None if value is None else _number_value(name, value)


def _optional_int(row: Mapping[object, object], names: tuple[str, ...]) -> int | None:
    number = _optional_float(row, names)
    if number is None:
        return None
    if not number.is_integer():
        raise _Bad("bad_number_value", f"{names[0]} is not an integer")
    return int(number)


def _seconds(row: Mapping[object, object], names: tuple[str, ...]) -> float | None:
    seconds = _optional_float(row, names)
    if seconds is not None and seconds < 0:
        raise _Bad("bad_number_value", f"{names[0]} is negative")
    return _within(names[0], seconds, MAX_CALL_S)


def _talk(
    row: Mapping[object, object], status: Status, answer: datetime | None, end: datetime
) -> float:
    talk = _seconds(row, wire.TALK)
    if talk is not None:
        return talk
    return talk_from(status, answer, end, _seconds(row, wire.TOTAL), _seconds(row, wire.RING))


def _ring(
    row: Mapping[object, object],
    *,
    status: Status,
    start: datetime,
    answer: datetime | None,
    end: datetime,
    talk: float,
) -> float:
    ring = _seconds(row, wire.RING)
    if ring is not None:
        return ring
    return ring_from_times(status, start, answer, end, talk)


def _text(row: Mapping[object, object], names: tuple[str, ...]) -> str:
    """Optional text: strings as given, numbers as their text, anything else ""."""
    name, value = _first(row, names)
    return _short(name, text_value(value), MAX_TEXT_LEN)


def _short(name: str, text: str, limit: int) -> str:
    """`text` when it is at most `limit` characters; field_too_long otherwise."""
    if len(text) > limit:
        raise _Bad("field_too_long", f"{name} is {len(text):,} characters (at most {limit})")
    return text


def _within(name: str, number: float | None, high: float, low: float = 0.0) -> float | None:
    """`number` when it is None or within [low, high]; value_out_of_range otherwise."""
    if number is not None and not low <= number <= high:
        raise _Bad("value_out_of_range", f"{name} {number:g} is outside {low:g}..{high:g}")
    return number


def _code(row: Mapping[object, object], names: tuple[str, ...]) -> int | None:
    """An optional hangup or SIP code: an integer in 0..MAX_CODE."""
    code = _optional_int(row, names)
    return None if code is None else int(_within(names[0], code, MAX_CODE) or 0)


def _show(value: object) -> str:
    """A short, safe rendering of an untrusted value for a rejection detail."""
    if isinstance(value, str):
        return repr(value[:40])
    return type(value).__name__
