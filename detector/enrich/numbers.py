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

Deliberate departures from raw `phonenumbers`:
- `type` is "INVALID" whenever `valid` is false (phonenumbers says UNKNOWN), so rules can match
  one name; "possible but invalid" stays visible through `possible`.
- The international networks +882, +883 and IPRS +979 are always reported not valid, even the
  ranges `phonenumbers` accepts (e.g. +979 1…, +883 51…): they are classic IRSF sinks.
- `country` of an invalid number is the main region of its country code when it has one
  (+53 invalid → "CU"), so country rules still see it; non-geographic codes give "".
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType

PREFIX_DIGITS = 8
"""National digits in the cache key; must be ≥ the deepest constrained digit in the metadata."""

NON_GEOGRAPHIC_RISK = frozenset({"882", "883", "979"})
"""Country codes always reported as not valid (international networks and premium rate)."""

_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_UNKNOWN = PhoneNumberType.UNKNOWN
_MAX_NSN = 17
_NO_PREFIX = re.compile(r"(?!)")
"""Matches nothing: the region has no national prefix to strip."""
_PREFIXES: dict[str, re.Pattern[str]] = {}

_keep_patterns = getattr(phonenumbers, "enable_pattern_cache", None)
if _keep_patterns is not None:  # phonenumbers ≥ 9: compile each metadata regex once, not per call
    _keep_patterns()
_NON_GEO_REGION = "001"
_MAX_DIGITS = 17


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
    digits = _digits(e164)
    for size in (1, 2, 3):
        if digits[:size] in _COUNTRY_CODES:
            return digits[:size]
    return ""


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
    """`classify_uncached` for a number with calling code `code`, running the type patterns once.

    `phonenumbers.is_valid_number` is exactly "`number_type` is not UNKNOWN" for the region
    `region_code_for_number` picks (that region always belongs to the number's calling code),
    so one `number_type` call decides both validity and type.
    """
    parsed = _plain(e164, code)
    if parsed is None:
        try:
            parsed = phonenumbers.parse(e164, None)
        except NumberParseException:
            return NOT_A_NUMBER
    possible = bool(phonenumbers.is_possible_number(parsed))
    region = phonenumbers.region_code_for_number(parsed)
    number_type = phonenumbers.number_type(parsed) if region is not None else _UNKNOWN
    valid = number_type != _UNKNOWN and code not in NON_GEOGRAPHIC_RISK
    if valid:
        kind = str(PhoneNumberType.to_string(number_type))
    else:
        region = phonenumbers.region_code_for_country_code(int(code))
        kind = "INVALID"
    country = "" if region in (_NON_GEO_REGION, "ZZ", None) else region
    return NumberInfo(country, kind, possible=possible, valid=valid)


def _plain(e164: str, code: str) -> PhoneNumber | None:
    """What `phonenumbers.parse` makes of "+<code><national>" when parsing has nothing to do.

    That is when the national part has 2..17 digits, no leading zero, and no national prefix
    for parsing of the calling code's main region matches it (parse would try to strip it).
    Anything else returns None, and the caller runs the full `phonenumbers.parse`.
    """
    national = e164[1 + len(code) :]
    if not 2 <= len(national) <= _MAX_NSN or national[0] == "0":
        return None
    prefix = _national_prefix(code)
    if prefix is None or prefix.match(national):
        return None
    return PhoneNumber(country_code=int(code), national_number=int(national))


def _national_prefix(code: str) -> re.Pattern[str] | None:
    """Compiled national prefix for parsing of `code`'s main region; `_NO_PREFIX` when it has none.

    None when the code has no metadata (then `_plain` defers to the full parse).
    """
    found = _PREFIXES.get(code)
    if found is None:
        calling = int(code)
        region = phonenumbers.region_code_for_country_code(calling)
        meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(calling, region)
        if meta is None:
            return None
        pattern = meta.national_prefix_for_parsing
        found = _PREFIXES[code] = re.compile(f"(?:{pattern})") if pattern else _NO_PREFIX
    return found


class NumberCache:
    """A bounded LRU of classifications keyed by number prefix and length (see module doc)."""

    def __init__(self, maxsize: int = 65_536) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[str, int], NumberInfo] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry and the hit/miss counts."""
        self._entries.clear()
        self.hits = self.misses = 0

    def classify(self, e164: str) -> NumberInfo:
        """Classification of `e164`, from the cache when a number with its prefix was seen."""
        code = country_code(e164)
        if not code:
            return NOT_A_NUMBER
        key = (e164[1 : 1 + len(code) + PREFIX_DIGITS], len(e164))
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
