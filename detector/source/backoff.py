"""Retry timing: exponential backoff with full jitter, and the server's own retry hints.

The partner API may say how long to wait in three ways, all honoured here: the standard
`Retry-After` header (seconds or an HTTP date), `retry-after-ms`, and the error body's
`error.details.retryAfter` (seconds).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any


def full_jitter(attempt: int, rng: random.Random, *, base: float = 1.0, cap: float = 30.0) -> float:
    """Seconds to wait before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^n)].

    >>> full_jitter(3, random.Random(1), cap=4.0) <= 4.0
    True
    """
    return rng.uniform(0.0, min(cap, base * 2.0**attempt))


def retry_after_s(headers: Mapping[str, str], body: Any, now: float) -> float | None:
    """The wait the server asked for, in seconds, or None when it gave no usable hint.

    `now` (epoch seconds) turns an HTTP-date `Retry-After` into a delay.

    >>> retry_after_s({"retry-after": "7"}, None, 0.0)
    7.0
    >>> retry_after_s({"retry-after-ms": "1500"}, None, 0.0)
    1.5
    >>> retry_after_s({}, {"error": {"details": {"retryAfter": 30}}}, 0.0)
    30.0
    """
    lower = {k.lower(): v for k, v in headers.items()}
    millis = _number(lower.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000.0)
    header = lower.get("retry-after")
    if header is not None:
        seconds = _number(header)
        if seconds is None:
            seconds = _http_date_delay(header, now)
        if seconds is not None:
            return max(0.0, seconds)
    return _body_hint(body)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _http_date_delay(value: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - now


def _body_hint(body: Any) -> float | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    hint = details.get("retryAfter") if isinstance(details, dict) else None
    seconds = _number(hint)
    return None if seconds is None else max(0.0, seconds)
