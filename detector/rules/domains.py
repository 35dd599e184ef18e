"""What each rule field can hold, so a value that can never match is refused at load.

A rule that silently matches nothing is worse than none: its author believes they are
covered. Every value written in a predicate (`match`, `where`, `first`, `then` and any later
kind's) is checked here by the predicate compiler, whatever the kind:

=================================  ==========================================================
field                              domain
=================================  ==========================================================
direction, status, dest_type       enumerations (the CDR's and phonenumbers' spellings)
hangup_cause                       FreeSWITCH cause names (`detector.enrich.causes.CAUSES`)
hangup_code                        the partner API's numeric codes (-1: the CDR has none)
dest_country                       ISO 3166 alpha-2 codes that a calling code maps to
from, to, peer                     E.164 numbers and prefixes (``+`` and digits, a real
                                   calling code); to_block the same without 2 digits
talk_s, ring_s, cost               numbers >= 0
hour, hour_of_week                 whole numbers 0–23 and 0–167
=================================  ==========================================================

A refused value comes with the closest valid one (``did you mean CU (Cuba)?``): case and
separators are folded first (``no-answer`` → ``no_answer``), then a few synonyms
(``outgoing``), then `difflib` similarity. `_ruleset.yaml`'s ``vocabulary`` adds values a
feed sends beyond these (e.g. a carrier's own hangup causes); numbers and ranges are fixed.

>>> DOMAINS["direction"].check("outgoing")
"unknown direction 'outgoing' (did you mean outbound?)"
>>> DOMAINS["dest_country"].check("Cuba")
"unknown country 'Cuba': write an ISO 3166 alpha-2 code (did you mean CU (Cuba)?)"
>>> DOMAINS["to"].check_prefix("0053")
"'0053' is not an E.164 prefix: write + and the digits (did you mean +53?)"
>>> DOMAINS["hour"].check_bound("lt", 0)
'hour is never below 0: lt 0 matches nothing'
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.geodata.locale import LOCALE_DATA

from detector.domain.cdr import Direction, Status
from detector.enrich.causes import CAUSES, HANGUP_CODES

Problem = str | None
"""What is wrong with a value (a sentence naming it), or None when it is fine."""


class Domain:
    """A field's set of possible values; the base accepts everything (free text)."""

    def check(self, value: Any) -> Problem:
        """A problem when `value` can never equal the field."""
        return None

    def check_bound(self, op: str, value: float) -> Problem:
        """A problem when ``field <op> value`` can never hold (`op` in lt, le, gt, ge)."""
        return None

    def check_prefix(self, prefix: str) -> Problem:
        """A problem when no value of the field starts with `prefix`."""
        return None

    def extended(self, extra: Iterable[Any]) -> Domain:
        """This domain with `extra` values accepted too (``vocabulary`` in _ruleset.yaml)."""
        raise ValueError("takes no extra values")


def closest(
    value: str, choices: Iterable[str], synonyms: Mapping[str, str] | None = None
) -> str | None:
    """The valid choice a mistyped `value` most likely meant, or None.

    >>> closest("No-Answer", ["answered", "no_answer"]), closest("incoming", ["inbound"])
    ('no_answer', None)
    """
    synonyms = synonyms or {}
    by_fold = {c.casefold(): c for c in choices}
    folded = value.strip().casefold()
    for candidate in (folded, re.sub(r"[\s\-]+", "_", folded)):
        if candidate in by_fold:
            return by_fold[candidate]
        if candidate in synonyms:
            return synonyms[candidate]
    near = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)
    return by_fold[near[0]] if near else None


def _hint(suggestion: str | None) -> str:
    return f" (did you mean {suggestion}?)" if suggestion else ""


@dataclass(frozen=True)
class Choice(Domain):
    """An enumeration: `values` are all the field holds; `synonyms` help suggestions."""

    noun: str
    values: frozenset[str]
    synonyms: Mapping[str, str] = field(default_factory=dict)

    def check(self, value: Any) -> Problem:
        """Unknown values are refused with the closest valid one."""
        text = str(value)
        if text in self.values:
            return None
        return f"unknown {self.noun} {text!r}{_hint(closest(text, self.values, self.synonyms))}"

    def check_prefix(self, prefix: str) -> Problem:
        """A prefix must start at least one valid value."""
        if any(v.startswith(prefix) for v in self.values):
            return None
        return f"no {self.noun} starts with {prefix!r}"

    def extended(self, extra: Iterable[Any]) -> Domain:
        """The enumeration plus `extra` (text)."""
        return Choice(self.noun, self.values | {str(v) for v in extra}, self.synonyms)


@dataclass(frozen=True)
class Span(Domain):
    """Numbers from `low` to `high` (whole numbers when `whole`)."""

    name: str
    low: float
    high: float = math.inf
    whole: bool = False

    def check(self, value: Any) -> Problem:
        """A value outside the span (or a fraction of a whole field) can never be equal."""
        if self.whole and float(value) != int(value):
            return f"{self.name} is a whole number, got {value!r}"
        if not self.low <= value <= self.high:
            return f"{self.name} is {self._span()}, got {value!r}"
        return None

    def check_bound(self, op: str, value: float) -> Problem:
        """A bound outside the span, or one that excludes every value, is refused."""
        if not self.low <= value <= self.high:
            return f"{self.name} is {self._span()}, got {op} {value!r}"
        if op == "lt" and value <= self.low:
            return f"{self.name} is never below {value:g}: lt {value:g} matches nothing"
        if op == "gt" and value >= self.high:
            return f"{self.name} is never above {value:g}: gt {value:g} matches nothing"
        return None

    def _span(self) -> str:
        if math.isinf(self.high):
            return f"at least {self.low:g}"
        return f"{self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class Codes(Domain):
    """Numeric codes: equality against the known ones, bounds within their span."""

    noun: str
    codes: frozenset[int]
    span: Span

    def check(self, value: Any) -> Problem:
        """An unknown code is refused with the nearest known one."""
        if value in self.codes:
            return None
        nearest = min(self.codes, key=lambda c: (abs(c - value), c))
        return f"unknown {self.noun} {value!r} (did you mean {nearest}?)"

    def check_bound(self, op: str, value: float) -> Problem:
        """Bounds are checked against the span of the codes."""
        return self.span.check_bound(op, value)

    def extended(self, extra: Iterable[Any]) -> Domain:
        """The codes plus `extra` (whole numbers)."""
        more = frozenset(int(v) for v in extra)
        return Codes(self.noun, self.codes | more, self.span)


_E164_PREFIX = re.compile(r"\+[1-9]\d{0,14}")
_E164_NUMBER = re.compile(r"\+[1-9]\d{6,14}")


@cache
def calling_codes() -> frozenset[str]:
    """Every country calling code phonenumbers knows (``"1"``, ``"53"``, ``"882"`` …)."""
    return frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _dialled(text: str) -> str | None:
    """`text` as it was probably meant in E.164 (``0053 1234`` → ``+531234``), or None."""
    digits = re.sub(r"[\s\-().]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.isdigit():
        digits = "+" + digits
    return digits if _E164_PREFIX.fullmatch(digits) else None


@dataclass(frozen=True)
class Number(Domain):
    """E.164 numbers (``+`` and up to 15 digits, starting with a real calling code).

    `cut` digits are missing at the end (`to_block` is the callee without its last two).
    """

    name: str
    cut: int = 0

    def check(self, value: Any) -> Problem:
        """A whole number (or block) in E.164 form."""
        text = str(value)
        shape = _E164_NUMBER if self.cut == 0 else _E164_PREFIX
        if shape.fullmatch(text) is None:
            hint = _hint(_dialled(text))
            if self.name == "from":
                hint += "; for caller ids that are not numbers use from_invalid: true"
            return f"{text!r} is not an E.164 number: write + and the digits{hint}"
        return self._code(text)

    def check_prefix(self, prefix: str) -> Problem:
        """A prefix in E.164 form whose digits can begin a real calling code."""
        if _E164_PREFIX.fullmatch(prefix) is None:
            hint = _hint(_dialled(prefix))
            return f"{prefix!r} is not an E.164 prefix: write + and the digits{hint}"
        return self._code(prefix)

    def _code(self, text: str) -> Problem:
        digits = text[1:]
        if any(digits.startswith(c) or c.startswith(digits) for c in calling_codes()):
            return None
        return f"{text!r} matches no number: no country calling code starts +{digits[:3]}"


@dataclass(frozen=True)
class Pair(Domain):
    """``from>to`` pairs of E.164 numbers."""

    def check(self, value: Any) -> Problem:
        """Both sides are whole E.164 numbers."""
        parts = str(value).split(">")
        if len(parts) != 2:
            return f"{value!r} is not a pair: write FROM>TO, e.g. +912240000000>+5355512345"
        return Number("from").check(parts[0]) or Number("to").check(parts[1])

    def check_prefix(self, prefix: str) -> Problem:
        """A pair prefix starts with (part of) the caller's number."""
        return Number("from").check_prefix(prefix.split(">", maxsplit=1)[0])


COUNTRY_ALIASES = {"UK": "GB", "EL": "GR", "USA": "US", "UAE": "AE", "KSA": "SA"}
"""Codes people write that ISO 3166 spells otherwise."""


@cache
def country_names() -> dict[str, str]:
    """ISO code → English name, for every region phonenumbers can report."""
    names: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        entry = LOCALE_DATA.get(region, {})
        name = entry.get("en", "")
        while name.startswith("*"):  # a reference to another language's spelling
            name = entry.get(name[1:], "")
        names[region] = name or region
    return names


@dataclass(frozen=True)
class Country(Domain):
    """ISO 3166 alpha-2 codes that a destination can have ("" when unknown)."""

    def check(self, value: Any) -> Problem:
        """A code phonenumbers reports; a name, an alias or lower case gets the code."""
        text = str(value)
        names = country_names()
        if text in names or text == "":
            return None
        hint = _hint(", ".join(f"{c} ({names[c]})" for c in _countries_like(text)))
        if text.upper() in names:
            return f"unknown country {text!r}: codes are upper case{hint}"
        return f"unknown country {text!r}: write an ISO 3166 alpha-2 code{hint}"

    def check_prefix(self, prefix: str) -> Problem:
        """A prefix must start some country code."""
        if any(code.startswith(prefix) for code in country_names()):
            return None
        return f"no country code starts with {prefix!r}"


def _countries_like(text: str) -> list[str]:
    """Up to three codes a wrong country value probably meant."""
    names = country_names()
    upper = text.strip().upper()
    if upper in names:
        return [upper]
    if upper in COUNTRY_ALIASES:
        return [COUNTRY_ALIASES[upper]]
    by_name = {name.casefold(): code for code, name in names.items()}
    folded = text.strip().casefold()
    if folded in by_name:
        return [by_name[folded]]
    within = sorted(code for name, code in by_name.items() if folded and folded in name)
    if within:
        return within[:3]
    near = difflib.get_close_matches(folded, list(by_name), n=2, cutoff=0.7)
    return [by_name[name] for name in near]


NO_CODE = -1
"""The `hangup_code` a rule sees when the CDR carries none (`Facts.hangup_code`)."""

DOMAINS: dict[str, Domain] = {
    "direction": Choice(
        "direction",
        frozenset(d.value for d in Direction),
        {"outgoing": "outbound", "out": "outbound", "incoming": "inbound", "in": "inbound"},
    ),
    "status": Choice(
        "status",
        frozenset(s.value for s in Status),
        {
            "unanswered": "no_answer",
            "noanswer": "no_answer",
            "canceled": "cancelled",
            "completed": "answered",
            "connected": "answered",
        },
    ),
    "dest_type": Choice(
        "number type",
        frozenset(n for n in vars(PhoneNumberType) if n.isupper()) | {"INVALID", ""},
    ),
    "hangup_cause": Choice("hangup cause", frozenset(CAUSES) | {""}),
    "hangup_code": Codes(
        "hangup code", HANGUP_CODES | {NO_CODE}, Span("hangup_code", NO_CODE, 9999)
    ),
    "dest_country": Country(),
    "from": Number("from"),
    "to": Number("to"),
    "peer": Number("peer"),
    "to_block": Number("to_block", cut=2),
    "pair": Pair(),
    "talk_s": Span("talk_s", 0.0),
    "ring_s": Span("ring_s", 0.0),
    "cost": Span("cost", 0.0),
    "hour": Span("hour", 0, 23, whole=True),
    "hour_of_week": Span("hour_of_week", 0, 167, whole=True),
}
"""Field name → its domain; fields not listed (account, trunk, context) are free text."""

FREE = Domain()


EXTENSIBLE = ("hangup_cause", "hangup_code")
"""Fields whose values come from the feed as sent, so a carrier may use more than we know."""


def domains_with(vocabulary: Mapping[str, Iterable[Any]]) -> dict[str, Domain]:
    """`DOMAINS` with extra accepted values for `EXTENSIBLE` fields (``vocabulary``)."""
    out = dict(DOMAINS)
    for name, extra in vocabulary.items():
        out[name] = DOMAINS[name].extended(extra)
    return out
