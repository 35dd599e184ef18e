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
- Unknown fields are ignored; null and "" count as absent.

Speed (issue 4): a dict row first tries `_fast`, a one-pass reader of the everyday JSON types
(~4x cheaper); any unusual value sends the row to the general path below, which alone decides
rejections. Both give identical results; tests/test_fast_paths.py compares them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from detector.domain.cdr import CDR, Direction, Rejected, Status, new_cdr
from detector.enrich.numbers import classify
from detector.source import wire

_STATUSES = {status.value: status for status in Status} | {"canceled": Status.CANCELLED}
_DIRECTIONS = {direction.value: direction for direction in Direction}
_FAST_STATUSES = _STATUSES | {"no-answer": Status.NO_ANSWER}
"""Exact wire spellings `_lookup` folds into a status (shape A sends "no-answer")."""
_SEPARATORS = str.maketrans("", "", " -.()/")
_MAX_NUMBER_LEN = 64
_INDIA = "+91"
_T = TypeVar("_T")
_HUGE = 2**1000
"""Ints inside ±_HUGE convert to float without overflow."""
_fromisoformat = datetime.fromisoformat


class _Slow(Exception):
    """Internal: the fast path met a value it leaves to the general path."""


_FALLBACK = (_Slow, KeyError, TypeError, ValueError, OverflowError)
"""What the fast path raises for a row it leaves to the general path."""


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
            return _fast(row, account)
        except _FALLBACK:
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
    status = _lookup(row, wire.STATUS, _STATUSES, "bad_status")
    direction = _lookup(row, wire.DIRECTION, _DIRECTIONS, "bad_direction")
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
        hangup_code=_optional_int(row, wire.HANGUP_CODE),
        cost=_optional_float(row, wire.COST) or 0.0,
        currency=_text(row, wire.CURRENCY),
        trunk=_text(row, wire.TRUNK),
        context=_text(row, wire.CONTEXT),
        dest_country=info.country,
        dest_type=info.type,
        sip_code=_optional_int(row, wire.SIP_CODE),
        mos=_optional_float(row, wire.MOS),
        user_agent=_text(row, wire.USER_AGENT),
    )


def _fast(row: dict[Any, Any], default: str | None) -> CDR:
    """`_build` for the everyday row: JSON types as the API sends them, read in one pass.

    Accepts only what `_build` accepts and gives exactly what it gives. Anything else (other
    types, blanks, bare-digit numbers, status spellings, negative or non-finite numbers)
    raises `_Slow` (or the error of a conversion, see `_FALLBACK`) and `normalize` takes the
    general path, which decides with its usual rejection details.
    """
    get: Callable[[str], Any] = row.get
    call_id = get("call_uuid")
    if call_id is None or call_id == "":
        call_id = get("uuid")
    acct = get("account_auth_id")
    if acct is None or acct == "":
        acct = get("account_id")
    acct = default if acct is None or acct == "" else _fast_text(acct).strip()
    from_number = get("from_number")
    if from_number is None or from_number == "":
        from_number = get("caller_id_number")
    to_number = get("to_number")
    if to_number is None or to_number == "":
        to_number = get("destination_number")
    direction = get("direction")
    if direction is None or direction == "":
        direction = get("call_direction")
    start, end = _fromisoformat(get("start_time")), _fromisoformat(get("end_time"))
    if start.tzinfo is not UTC or end.tzinfo is not UTC:
        start, end = _utc(start), _utc(end)
    answer = get("answer_time")
    if answer is not None and (answer := _fromisoformat(answer)).tzinfo is not UTC:
        answer = _utc(answer)
    call_id = _fast_text(call_id).strip()
    if (
        not (call_id and acct and _plain_e164(from_number) and _plain_e164(to_number))
        or end < start
        or (answer is not None and not start <= answer <= end)
    ):
        raise _Slow
    status: Status = _FAST_STATUSES[get("status")]
    direction = _DIRECTIONS[direction]
    talk, ring = _fast_durations(get, status, start, answer, end)
    cause, code, cost, currency, trunk, context, sip, mos, agent = _fast_extras(get)
    info = classify(to_number)
    return new_cdr(
        call_id, acct, direction, status, start, answer, end, talk, ring,
        from_number, to_number, cause, code, cost, currency, trunk, context,
        info.country, info.type, sip, mos, agent,
    )  # fmt: skip


def _fast_durations(
    get: Callable[[str], Any],
    status: Status,
    start: datetime,
    answer: datetime | None,
    end: datetime,
) -> tuple[float, float]:
    """`_talk` and `_ring` of the fast path: (talk, ring) seconds."""
    talk = get("duration_seconds")
    if talk is None or talk == "":
        talk = get("billsec")
    ring = get("ring_duration_seconds")
    if ring is None or ring == "":
        ring = get("ring_time")
    ring = None if ring is None else _fast_seconds(ring)
    if talk is not None:
        talk = _fast_seconds(talk)
    else:
        total = get("duration")
        total = None if total is None else _fast_seconds(total)
        talk = _talk_from(status, answer, end, total, ring)
    if ring is None:
        ring = _ring_from_times(status, start, answer, end, talk)
    return talk, ring


_Extras = tuple[str, int | None, float, str, str, str, int | None, float | None, str]


def _fast_extras(get: Callable[[str], Any]) -> _Extras:
    """The optional fields of the fast path, in `CDR` order from hangup cause to user agent."""
    cause = get("hangup_cause")
    if cause is None or cause == "":
        cause = get("hangup_cause_name")
    cost = get("cost")
    if cost is None or cost == "":
        cost = get("total_cost")
    code, sip, mos = get("hangup_cause_code"), get("sip_response_code"), get("mos")
    currency, trunk = get("currency"), get("trunk_id")
    context, agent = get("context"), get("sip_user_agent")
    return (  # `x if x.__class__ is str else …`: `_text_value`, inlined for the usual str
        cause if cause.__class__ is str else _text_value(cause),
        None if code is None else _fast_int(code),
        0.0 if cost is None else _fast_float(cost) or 0.0,
        currency if currency.__class__ is str else _text_value(currency),
        trunk if trunk.__class__ is str else _text_value(trunk),
        context if context.__class__ is str else _text_value(context),
        None if sip is None else _fast_int(sip),
        None if mos is None else _fast_float(mos),
        agent if agent.__class__ is str else _text_value(agent),
    )


def _fast_text(value: object) -> str:
    """`value` when it is exactly a str; `_Slow` otherwise."""
    if value.__class__ is not str:
        raise _Slow
    return value


def _plain_e164(value: object) -> bool:
    """True for exactly a str "+" and ASCII digits within the length cap (`to_e164` keeps it)."""
    return (
        value.__class__ is str
        and len(value) <= _MAX_NUMBER_LEN
        and value[:1] == "+"
        and value[1:].isdigit()
        and value[1:].isascii()
    )


def _utc(ts: datetime) -> datetime:
    """A parsed time as `_time` returns it: naive read as UTC, other zones converted."""
    zone = ts.tzinfo
    if zone is UTC:
        return ts
    return ts.replace(tzinfo=UTC) if zone is None else ts.astimezone(UTC)


def _fast_float(value: object) -> float | None:
    """`_optional_float` for None or an exact int/float value; `_Slow` for anything else."""
    if value is None:
        return None
    cls = value.__class__
    if cls is float or cls is int:
        number = float(value)  # type: ignore[arg-type]  # OverflowError for a huge int
        if number - number == 0.0:
            return number
    raise _Slow


def _fast_seconds(value: object) -> float:
    """`_seconds` for an exact int/float that is finite and not negative; `_Slow` otherwise."""
    seconds = _fast_float(value)
    if seconds is None or seconds < 0:
        raise _Slow
    return seconds


def _fast_int(value: object) -> int | None:
    """`_optional_int` for None or an exact int/float holding an integer; `_Slow` otherwise."""
    number = _fast_float(value)
    if number is None:
        return None
    if not number.is_integer():
        raise _Slow
    return int(number)


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
        return _int_text(value)
    return None


def _call_id(row: Mapping[object, object]) -> str:
    name, value = _first(row, wire.CALL_ID)
    call_id = _identifier(value)
    if not call_id:
        raise _Bad("missing_field", f"{name} is missing or not text")
    return call_id


def _account(row: Mapping[object, object], default: str | None) -> str:
    name, value = _first(row, wire.ACCOUNT)
    account = _identifier(value) if value is not None else default
    if not account:
        raise _Bad("missing_field", f"{name} is missing and no account was given")
    return account


def _number(row: Mapping[object, object], names: tuple[str, ...]) -> str:
    name, value = _first(row, names)
    if value is None:
        raise _Bad("missing_field", f"{name} is missing")
    text = _identifier(value)
    if text == "":
        raise _Bad("missing_field", f"{name} is blank")
    if text is None or len(text) > _MAX_NUMBER_LEN:
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
            return ts.replace(tzinfo=UTC)
        return ts if ts.tzinfo is UTC else ts.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad("bad_time", f"{name} is not an ISO 8601 time: {_show(value)}") from None


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
    return seconds


def _talk(
    row: Mapping[object, object], status: Status, answer: datetime | None, end: datetime
) -> float:
    talk = _seconds(row, wire.TALK)
    if talk is not None:
        return talk
    return _talk_from(status, answer, end, _seconds(row, wire.TOTAL), _seconds(row, wire.RING))


def _talk_from(
    status: Status, answer: datetime | None, end: datetime, total: float | None, ring: float | None
) -> float:
    """Talk seconds when no talk field is given: total − ring, else answer → end, else 0."""
    if total is not None and ring is not None:
        return max(0.0, total - ring)
    if status is Status.ANSWERED and answer is not None:
        return (end - answer).total_seconds()
    return 0.0


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
    return _ring_from_times(status, start, answer, end, talk)


def _ring_from_times(
    status: Status, start: datetime, answer: datetime | None, end: datetime, talk: float
) -> float:
    """Ring seconds when no ring field is given, from the times (see the module doc)."""
    if status is not Status.ANSWERED:
        return (end - start).total_seconds()
    if answer is not None:
        return (answer - start).total_seconds()
    return max(0.0, (end - start).total_seconds() - talk)


def _text(row: Mapping[object, object], names: tuple[str, ...]) -> str:
    """Optional text: strings as given, numbers as their text, anything else ""."""
    return _text_value(_first(row, names)[1])


def _text_value(value: object) -> str:
    """An optional text value: strings as given, numbers as their text, anything else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_text(value) or ""
    if isinstance(value, float):
        return repr(value)
    return ""


def _int_text(value: int) -> str | None:
    """str(value), or None for an int too long to print (Python caps int→str digits)."""
    try:
        return str(value)
    except ValueError:
        return None


def _show(value: object) -> str:
    """A short, safe rendering of an untrusted value for a rejection detail."""
    if isinstance(value, str):
        return repr(value[:40])
    return type(value).__name__
