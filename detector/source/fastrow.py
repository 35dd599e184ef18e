"""The one-pass reader of an everyday wire row: `read_fast`, the fast path of `normalize`.

Speed (issue 4): a dict row holding the JSON types the API sends is read in one straight
pass (direct field lookups, one `fromisoformat` per time), ~4x cheaper than the general path
in `detector.source.normalize`. It accepts only what the general path accepts and gives
exactly what it gives. Any unusual value (other types, blanks, bare-digit numbers, status
spellings, negative or non-finite numbers) raises one of `FALLBACK` and `normalize` takes
the general path, which alone decides rejections with their usual details. Rules both paths
share live in `detector.source.values`; tests/test_fast_paths.py compares the two paths.
The two-name fields (shape A, else shape B) are looked up inline rather than through a helper:
a call per field is a measurable share of this path's cost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from detector.domain.cdr import CDR, Status, new_cdr
from detector.enrich.numbers import classify
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
    ring_from_times,
    talk_from,
    text_value,
)

_FAST_STATUSES = STATUSES | {"no-answer": Status.NO_ANSWER}
"""Exact wire spellings the general path folds into a status (shape A sends "no-answer")."""
_fromisoformat = datetime.fromisoformat


class Slow(Exception):
    """The fast path met a value it leaves to the general path."""


FALLBACK = (Slow, KeyError, TypeError, ValueError, OverflowError)
"""What `read_fast` raises for a row it leaves to the general path."""


def read_fast(row: dict[Any, Any], default: str | None) -> CDR:
    """The general path's `CDR` for an everyday row, read in one pass; `FALLBACK` otherwise.

    `default` is the account of a per-account endpoint, used when the row has none.
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
        or start < EARLIEST
        or end >= LATEST
        or len(call_id) > MAX_ID_LEN
        or len(acct) > MAX_ID_LEN
    ):
        raise Slow
    status: Status = _FAST_STATUSES[get("status")]
    direction = DIRECTIONS[direction]
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
    """`_talk` and `_ring` of the general path (`normalize`): (talk, ring) seconds."""
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
        talk = talk_from(status, answer, end, total, ring)
    if ring is None:
        ring = ring_from_times(status, start, answer, end, talk)
    return talk, ring


_Extras = tuple[str, int | None, float, str, str, str, int | None, float | None, str]


def _fast_extras(get: Callable[[str], Any]) -> _Extras:
    """The optional fields, in `CDR` order from hangup cause to user agent."""
    cause = get("hangup_cause")
    if cause is None or cause == "":
        cause = get("hangup_cause_name")
    cost = get("cost")
    if cost is None or cost == "":
        cost = get("total_cost")
    code, sip, mos = get("hangup_cause_code"), get("sip_response_code"), get("mos")
    currency, trunk = get("currency"), get("trunk_id")
    context, agent = get("context"), get("sip_user_agent")
    extras = (  # `x if x.__class__ is str else …`: `text_value`, inlined for the usual str
        cause if cause.__class__ is str else text_value(cause),
        None if code is None else _fast_int(code),
        0.0 if cost is None else _fast_float(cost) or 0.0,
        currency if currency.__class__ is str else text_value(currency),
        trunk if trunk.__class__ is str else text_value(trunk),
        context if context.__class__ is str else text_value(context),
        None if sip is None else _fast_int(sip),
        None if mos is None else _fast_float(mos),
        agent if agent.__class__ is str else text_value(agent),
    )
    if (
        len(extras[0]) + len(extras[3]) + len(extras[4]) + len(extras[5]) + len(extras[8])
        > MAX_TEXT_LEN  # the sum: one comparison for the usual short texts
        or not -MAX_COST <= extras[2] <= MAX_COST
        or (extras[1] is not None and not 0 <= extras[1] <= MAX_CODE)
        or (extras[6] is not None and not 0 <= extras[6] <= MAX_CODE)
        or (extras[7] is not None and not 0.0 <= extras[7] <= MAX_MOS)
    ):
        raise Slow
    return extras


def _fast_text(value: object) -> str:
    """`value` when it is exactly a str; `Slow` otherwise."""
    if value.__class__ is not str:
        raise Slow
    return value


def _plain_e164(value: object) -> bool:
    """True for exactly a str "+" and ASCII digits within the length cap (`to_e164` keeps it)."""
    return (
        value.__class__ is str
        and len(value) <= MAX_NUMBER_LEN
        and value[:1] == "+"
        and value[1:].isdigit()
        and value[1:].isascii()
    )


def _utc(ts: datetime) -> datetime:
    """A parsed time as `normalize._time` returns it: naive read as UTC, other zones converted."""
    zone = ts.tzinfo
    if zone is UTC:
        return ts
    return ts.replace(tzinfo=UTC) if zone is None else ts.astimezone(UTC)


def _fast_float(value: object) -> float | None:
    """`normalize._optional_float` for None or an exact int/float value; `Slow` otherwise."""
    if value is None:
        return None
    cls = value.__class__
    if cls is float or cls is int:
        number = float(value)  # type: ignore[arg-type]  # OverflowError for a huge int
        if number - number == 0.0:
            return number
    raise Slow


def _fast_seconds(value: object) -> float:
    """`normalize._seconds` for an exact int/float, finite and not negative; `Slow` otherwise."""
    seconds = _fast_float(value)
    if seconds is None or not 0 <= seconds <= MAX_CALL_S:
        raise Slow
    return seconds


def _fast_int(value: object) -> int | None:
    """`normalize._optional_int` for None or an exact int/float integer; `Slow` otherwise."""
    number = _fast_float(value)
    if number is None:
        return None
    if not number.is_integer():
        raise Slow
    return int(number)
