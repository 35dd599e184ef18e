"""Wire values → CDR values: the rules both row readers share (`normalize`, `fastrow`).

The general path (`detector.source.normalize`) and the one-pass fast path
(`detector.source.fastrow`) must give identical results, so what they both decide lives here
once: the status and direction spellings, the number length cap, optional text, and the talk
and ring seconds derived from the times when the row gives no such field (rules in the
`normalize` module doc). Pure functions of their arguments; no rejections are raised here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from detector.domain.cdr import Direction, Status

STATUSES = {status.value: status for status in Status} | {"canceled": Status.CANCELLED}
"""Status spellings in normal form (lower case, "_"); other spellings are folded first."""
DIRECTIONS = {direction.value: direction for direction in Direction}
"""Direction spellings in normal form."""
MAX_NUMBER_LEN = 64
"""Longer "numbers" are bad_number, not phone numbers."""
MAX_ID_LEN = 128
"""Call and account ids longer than this are field_too_long (a UUID is 36 characters)."""
MAX_TEXT_LEN = 256
"""Optional text (hangup cause, currency, trunk, context, user agent) longer: field_too_long."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Times before this (long before any partner API existed) are time_out_of_range."""
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Times from this on are time_out_of_range: a year-9999 row must never reach the windows,
whose local-hour arithmetic cannot represent it. The poller also rejects rows from beyond its
own clock plus a skew allowance (`future_time`), which only a live source can tell."""
MAX_CALL_S = 7 * 86400.0
"""Talk or ring seconds above a week are value_out_of_range (platforms cut calls far sooner)."""
MAX_COST = 1e9
"""A cost beyond ±1e9 (in any currency) is value_out_of_range, not a spend spike."""
MAX_CODE = 99_999
"""Hangup and SIP codes are small non-negative integers; anything else is value_out_of_range."""
MAX_MOS = 5.0
"""A mean opinion score lies in [0, 5]."""


def talk_from(
    status: Status, answer: datetime | None, end: datetime, total: float | None, ring: float | None
) -> float:
    """Talk seconds when no talk field is given: total − ring, else answer → end, else 0.

    >>> talk_from(Status.ANSWERED, None, datetime(2026, 1, 1), 70.0, 10.0)
    60.0
    """
    if total is not None and ring is not None:
        return max(0.0, total - ring)
    if status is Status.ANSWERED and answer is not None:
        return (end - answer).total_seconds()
    return 0.0


def ring_from_times(
    status: Status, start: datetime, answer: datetime | None, end: datetime, talk: float
) -> float:
    """Ring seconds when no ring field is given, from the times (see the `normalize` doc)."""
    if status is not Status.ANSWERED:
        return (end - start).total_seconds()
    if answer is not None:
        return (answer - start).total_seconds()
    return max(0.0, (end - start).total_seconds() - talk)


def text_value(value: object) -> str:
    """An optional text value: strings as given, numbers as their text, anything else "".

    >>> text_value("x"), text_value(42), text_value(2.5), text_value(True), text_value(None)
    ('x', '42', '2.5', '', '')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int_text(value) or ""
    if isinstance(value, float):
        return repr(value)
    return ""


def int_text(value: int) -> str | None:
    """str(value), or None for an int too long to print (Python caps int→str digits)."""
    try:
        return str(value)
    except ValueError:
        return None
