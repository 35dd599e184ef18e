"""Secrets in notifiers: accept plain strings or `Secret`-like objects; redact them from text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

REDACTED = "***"


class Revealable(Protocol):
    """Anything that hands out its secret only on request (such as `detector.secret.Secret`)."""

    def reveal(self) -> str:
        """The secret value."""
        ...


SecretLike = str | Revealable


def reveal(value: SecretLike) -> str:
    """The plain secret from a string or a `Secret`-like object."""
    return value if isinstance(value, str) else value.reveal()


class Redactor:
    """Replaces every secret, and the token-bearing parts of secret URLs, with ``***``.

    >>> redact = Redactor(["https://hooks.example/services/T1/B2/abcdefgh"])
    >>> redact("POST /services/T1/B2/abcdefgh failed; token abcdefgh")
    'POST *** failed; token ***'
    """

    __slots__ = ("_needles",)

    def __init__(self, secrets: Iterable[str]) -> None:
        needles: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            needles.add(secret)
            parts = urlsplit(secret)
            if parts.scheme and parts.netloc:
                needles.update(p for p in (parts.path, parts.query) if len(p) > 3)
                needles.update(s for s in parts.path.split("/") if len(s) >= 8)
        self._needles = sorted(needles, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """`text` with every secret replaced."""
        for needle in self._needles:
            text = text.replace(needle, REDACTED)
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self._needles)} secrets)"
