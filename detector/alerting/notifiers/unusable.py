"""A receiver whose settings cannot work: it stays in the list and dead-letters what it gets.

A malformed webhook URL (read from a secret, so only the daemon ever sees it) would otherwise
raise from inside the HTTP client at the first delivery. Assembly checks each URL once
(`url_problem`); a receiver that fails is replaced by an `UnusableNotifier`, logged at start,
and its notifications are dead-lettered and counted while every other receiver keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from detector.errors import PermanentDelivery


def url_problem(url: str) -> str | None:
    """What is wrong with a receiver URL, or None. Never repeats the URL (it may hold a token).

    >>> url_problem("https://hooks.slack.com/services/T/B/x") is None
    True
    >>> url_problem("http://[::1"), url_problem("hooks.slack.com/x")
    ('not a valid URL (InvalidURL)', 'not an http(s) URL with a host')
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        return f"not a valid URL ({type(exc).__name__})"
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        return "not an http(s) URL with a host"
    return None


class UnusableNotifier:
    """Refuses every notification for good, with the reason it was disabled."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def send(self, payload: Mapping[str, Any]) -> None:
        """Always raise `PermanentDelivery`: the row becomes a dead letter."""
        raise PermanentDelivery(f"{self.name}: receiver disabled: {self.reason}")

    def __repr__(self) -> str:
        return f"UnusableNotifier(name={self.name!r}, reason={self.reason!r})"
