"""Phone numbers masked in notifications and logs: `+919812345321` → `+9198•••••321`.

A NOC channel, a ticket system or a log pipeline rarely needs a subscriber's full number, and
each copy of it is one more place to leak it from. By default every E.164 number (a `+` and
7–15 digits) and every bare run of 9–15 digits in text is masked, keeping `keep_start`
characters in front (the country and operator prefix, useful to triage) and `keep_end` at the
back. Runs that belong to something else are left alone: digits glued to letters, dots,
hyphens, colons or slashes (call ids, delivery ids such as `fp:1772425760`, UUIDs, decimals,
paths). Call ids are never passed through the masker by the renderers: investigating needs them.

`alerting.mask: {enabled: false}` shows numbers in clear (the state file always keeps them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DOT = "•"
_NUMBER = re.compile(r"(?<!\w)\+\d{7,15}(?!\d)|(?<![\w.\-:/+])\d{9,15}(?![\d.\w])")


@dataclass(frozen=True, slots=True)
class Masker:
    """Masks phone numbers in text; `enabled=False` returns text unchanged.

    >>> m = Masker()
    >>> m("+919812345321 called 0049301234567 (call c-0001, id fp:1772425760)")
    '+9198•••••321 called 00493•••••567 (call c-0001, id fp:1772425760)'
    >>> Masker(enabled=False)("+919812345321")
    '+919812345321'
    """

    enabled: bool = True
    keep_start: int = 5
    keep_end: int = 3

    def __call__(self, text: str) -> str:
        """`text` with every phone number masked."""
        if not self.enabled or not text:
            return text
        return _NUMBER.sub(lambda m: self.number(m.group(0)), text)

    def number(self, number: str) -> str:
        """One number masked, keeping its start and end.

        >>> Masker().number("+919812345321"), Masker().number("1234567")
        ('+9198•••••321', '12•••67')
        """
        start, end = self.keep_start, self.keep_end
        if len(number) < start + end + 3:
            start, end = 2, 2
        hidden = len(number) - start - end
        return number[:start] + DOT * max(hidden, 1) + number[len(number) - end :]

    def value(self, value: Any) -> Any:
        """Strings masked inside any JSON-like value (mappings and lists walked)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def processor(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        """A structlog processor masking every string value of an event."""
        if not self.enabled:
            return event
        return {k: self.value(v) for k, v in event.items()}
