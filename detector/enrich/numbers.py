"""Destination country and number type of an E.164 number, via `phonenumbers`, cached by prefix.

`phonenumbers` costs ~20–35 µs per number uncached, too much for the hot path, and fraud
traffic (dialers, range scans) sends calls to many distinct numbers, so a cache of full
numbers hits rarely exactly when it matters. The cache is therefore keyed by
*(country code, the first `PREFIX_DIGITS` national digits, total length)*.

Why that key is correct: `phonenumbers` decides region, type, possibility and validity only
from the length of the national number and from full-match regular expressions over it
(per-type number patterns, the general pattern, national-prefix-for-parsing, leading digits).
In the bundled metadata no pattern constrains a digit beyond the 8th national digit (the
deepest is Colombia's `601055…`); positions past it are always `\\d`. Two numbers that share the
country code, those first 8 national digits and the length are therefore classified
identically. `tests/test_numbers.py` walks every pattern of the installed metadata and fails
if an upgrade ever introduces a deeper one (then raise `PREFIX_DIGITS`).

Misses stay cheap too (~2 µs instead of ~8): a *plain* number, which `phonenumbers.parse`
would only split, skips parsing and asks the prebuilt per-region matchers of
`detector.enrich.metadata`; other numbers take the full `phonenumbers` path. Both give the
same facts (region, type, possible), judged once by `_judge`. The matchers are metadata,
built on first use and kept by `reset_cache`.

Deliberate departures from raw `phonenumbers`:
- `type` is "INVALID" whenever `valid` is false (phonenumbers says UNKNOWN), so rules can match
  one name; "possible but invalid" stays visible through `possible`.
- The international networks +882, +883 and IPRS +979 are always reported not valid, even the
  ranges `phonenumbers` accepts (e.g. +979 1…, +883 51…): they are classic IRSF sinks.
- `country` of an invalid number is the main region of its country code when it has one
  (+53 invalid → "CU"), so country rules still see it; non-geographic codes give "".
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType

from detector.enrich.metadata import calling_code

PREFIX_DIGITS = 8
"""National digits in the cache key; must be ≥ the deepest constrained digit in the metadata."""

NON_GEOGRAPHIC_RISK = frozenset({"882", "883", "979"})
"""Country codes always reported as not valid (international networks and premium rate)."""

_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_CODE_BY_LEAD = {
    lead: next((lead[:size] for size in (1, 2, 3) if lead[:size] in _COUNTRY_CODES), "")
    for lead in (f"{n:0{width}d}" for width in (2, 3) for n in range(10**width))
}
"""The calling code of every 2- and 3-digit lead (a number has at least 2 digits)."""
_MAX_DIGITS = 17
_LENGTH_MARKS = tuple(chr(0x100 + size) for size in range(_MAX_DIGITS + 1))
"""One non-digit character per number length: cache key = prefix digits + length mark.

A str key rather than a (prefix, length) tuple: strs are not tracked by the garbage
collector, so filling the cache with fraud traffic does not trigger full collections."""
_UNKNOWN = PhoneNumberType.UNKNOWN
_NON_GEO_REGION = "001"


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """What a number is: ISO country ("" when none), type name, possible and valid flags."""

    country: str
    type: str
    possible: bool
    valid: bool


NOT_A_NUMBER = NumberInfo("", "INVALID", possible=False, valid=False)


def country_code(e164: str) -> str:
    """The calling code of an E.164 string, or "" when it has none.

    >>> country_code("+919876543210"), country_code("+18005550100"), country_code("anonymous")
    ('91', '1', '')
    """
    return _CODE_BY_LEAD.get(_digits(e164)[:3], "")


def classify_uncached(e164: str) -> NumberInfo:
    """Classify one number with `phonenumbers`, no cache (the reference for `classify`).

    >>> classify_uncached("+919876543210")
    NumberInfo(country='IN', type='MOBILE', possible=True, valid=True)
    """
    code = country_code(e164)
    if not code:
        return NOT_A_NUMBER
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return NOT_A_NUMBER
    possible = bool(phonenumbers.is_possible_number(parsed))
    valid = bool(phonenumbers.is_valid_number(parsed)) and code not in NON_GEOGRAPHIC_RISK
    if valid:
        region = phonenumbers.region_code_for_number(parsed) or ""
        kind = str(PhoneNumberType.to_string(phonenumbers.number_type(parsed)))
    else:
        region = phonenumbers.region_code_for_country_code(int(code)) or ""
        kind = "INVALID"
    country = "" if region in (_NON_GEO_REGION, "ZZ") else region
    return NumberInfo(country, kind, possible=possible, valid=valid)


def _classify_once(e164: str, code: str) -> NumberInfo:
    """`classify_uncached` for a number with calling code `code`, as cheaply as exactness allows.

    A plain number (see `metadata.CallingCode`) skips `phonenumbers.parse` and its per-call
    overhead; any other number is parsed and classified by `_classify_parsed`.
    """
    calling = calling_code(code)
    national = e164[1 + len(code) :]
    if calling.is_plain(national):
        possible = calling.is_possible(national)
        region, kind = calling.region_and_kind(national)
        return _judge(code, calling.main, region, kind, possible)
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return NOT_A_NUMBER
    return _classify_parsed(parsed, code, calling.main)


def _classify_parsed(parsed: PhoneNumber, code: str, main: str) -> NumberInfo:
    """`classify_uncached` for a parsed number, running the type patterns once.

    `phonenumbers.is_valid_number` is exactly "`number_type` is not UNKNOWN" for the region
    `region_code_for_number` picks (that region always belongs to the number's calling code),
    so one `number_type` call decides both validity and type. `main` is the code's main region.
    """
    possible = bool(phonenumbers.is_possible_number(parsed))
    region = phonenumbers.region_code_for_number(parsed)
    number_type = phonenumbers.number_type(parsed) if region is not None else _UNKNOWN
    kind = None if number_type == _UNKNOWN else str(PhoneNumberType.to_string(number_type))
    return _judge(code, main, region, kind, possible)


def _judge(
    code: str, main: str, region: str | None, kind: str | None, possible: bool
) -> NumberInfo:
    """What `phonenumbers` says (`kind` None: UNKNOWN), judged by this module's departures.

    Risky codes are never valid; an invalid number is "INVALID" in its code's `main` region;
    non-geographic regions have no country (see the module doc).
    """
    valid = kind is not None and code not in NON_GEOGRAPHIC_RISK
    if not valid:
        region, kind = main, "INVALID"
    country = "" if region in (_NON_GEO_REGION, "ZZ", None) else region
    return _info(country or "", kind or "INVALID", possible, valid)


def _info(country: str, kind: str, possible: bool, valid: bool) -> NumberInfo:
    """The shared `NumberInfo` of these values (a few hundred exist; the cache holds many)."""
    key = (country, kind, possible, valid)
    info = _INFOS.get(key)
    if info is None:
        info = _INFOS[key] = NumberInfo(country, kind, possible=possible, valid=valid)
    return info


_INFOS: dict[tuple[str, str, bool, bool], NumberInfo] = {}


class NumberCache:
    """A bounded LRU of classifications keyed by number prefix and length (see module doc)."""

    def __init__(self, maxsize: int = 65_536) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, NumberInfo] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry and the hit/miss counts."""
        self._entries.clear()
        self.hits = self.misses = 0

    def classify(self, e164: str) -> NumberInfo:
        """Classification of `e164`, from the cache when a number with its prefix was seen."""
        digits = e164[1:]  # `country_code`, inlined: this runs once per CDR
        if e164[:1] != "+" or len(digits) > _MAX_DIGITS or not digits.isdigit():
            return NOT_A_NUMBER
        code = _CODE_BY_LEAD.get(digits[:3], "") if digits.isascii() else ""
        if not code:
            return NOT_A_NUMBER
        key = digits[: len(code) + PREFIX_DIGITS] + _LENGTH_MARKS[len(digits)]
        entries = self._entries
        info = entries.get(key)
        if info is not None:
            self.hits += 1
            entries.move_to_end(key)
            return info
        self.misses += 1
        info = _classify_once(e164, code)
        entries[key] = info
        if len(entries) > self.maxsize:
            entries.popitem(last=False)
        return info


_DEFAULT_CACHE = NumberCache()


def classify(e164: str) -> NumberInfo:
    """Country and type of an E.164 number, through the process-wide prefix cache.

    >>> classify("+449098790000").type, classify("+882123456789").valid
    ('PREMIUM_RATE', False)
    """
    return _DEFAULT_CACHE.classify(e164)


def reset_cache() -> None:
    """Empty the process-wide cache behind `classify` (benchmarks measure a cold start)."""
    _DEFAULT_CACHE.clear()


def is_international(e164: str, home_country: str) -> bool:
    """True when the number lies outside `home_country` (ISO alpha-2, any case).

    Country-based, so +1 876 (Jamaica) is international from the US; numbers with no country
    (+882, +883, +979, +800 …) are international from anywhere; non-numbers are not.

    >>> is_international("+447700900123", "in"), is_international("+919876543210", "IN")
    (True, False)
    """
    info = classify(e164)
    if info.country:
        return info.country != home_country.upper()
    return bool(country_code(e164))


def _digits(e164: str) -> str:
    """The digits after "+", or "" when `e164` is not "+" followed by 2..17 ASCII digits."""
    digits = e164[1:]
    if (
        e164[:1] == "+"
        and 2 <= len(digits) <= _MAX_DIGITS
        and digits.isascii()
        and digits.isdigit()
    ):
        return digits
    return ""
