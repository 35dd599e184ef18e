"""Is a trunk webhook genuine and fresh? HMAC-SHA256 over the raw body, a timestamp window and
request-id replay protection.

Vobiz signs each webhook with HMAC-SHA256 over the raw body but does not publish the header
(VOBIZ_API_NOTES.md), so its name is a setting (`webhooks.signature_header`); the value may be
hex or base64, optionally prefixed `sha256=`. Freshness: the event's own timestamp (inside the
signed body, so it cannot be altered) — or, when the body has none, the `timestamp_header` —
must lie within `window_s` of the receiver's clock. Replays: a `X-Vobiz-Request-ID` seen within
the window is refused (the trunk's retries of one delivery carry the same id). A replay older
than the window fails the timestamp check, so the remembered ids never need to outlive it.

Every refusal has a reason, counted by the caller: `bad_signature`, `stale`, `replayed`,
`no_request_id`. Secrets never appear in a message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime


class Refused(Exception):
    """A webhook request that must not be processed; `reason` is a short metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def sign(secret: bytes, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` (what a sender puts in the signature header).

    >>> sign(b"k", b"{}")
    'add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff'
    """
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_ok(secret: bytes, body: bytes, given: str) -> bool:
    """True when `given` (hex or base64, optionally `sha256=`-prefixed) signs `body`."""
    text = given.strip()
    if text.lower().startswith("sha256="):
        text = text[7:]
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    for decode in (bytes.fromhex, base64.b64decode):
        try:
            candidate = decode(text)
        except (ValueError, binascii.Error):
            continue
        if hmac.compare_digest(candidate, expected):
            return True
    return False


@dataclass
class ReplayGuard:
    """Request ids seen within `window_s`, oldest first (bounded by `capacity`)."""

    window_s: float
    capacity: int = 100_000
    _seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def check(self, request_id: str, now: float) -> None:
        """Remember `request_id`; `Refused("replayed")` when it was seen within the window."""
        while self._seen and (
            next(iter(self._seen.values())) < now - self.window_s or len(self._seen) > self.capacity
        ):
            self._seen.popitem(last=False)
        if request_id in self._seen:
            raise Refused("replayed", "this X-Vobiz-Request-ID was already received")
        self._seen[request_id] = now


def fresh(at: datetime | None, now: float, window_s: float) -> None:
    """`Refused("stale")` unless the event time `at` lies within `window_s` of `now`."""
    if at is None:
        raise Refused("stale", "no event timestamp in the body or the timestamp header")
    age = now - at.timestamp()
    if abs(age) > window_s:
        raise Refused("stale", f"event time is {age:.0f} s from now (window {window_s:.0f} s)")
