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

from collections import OrderedDict
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

PREFIX_DIGITS = 8
"""National digits in the cache key; must be ≥ the deepest constrained digit in the metadata."""

NON_GEOGRAPHIC_RISK = frozenset({"882", "883", "979"})
"""Country codes always reported as not valid (international networks and premium rate)."""

_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
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


class NumberCache:
    """A bounded LRU of classifications keyed by number prefix and length (see module doc)."""

    def __init__(self, maxsize: int = 65_536) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, NumberInfo] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def classify(self, e164: str) -> NumberInfo:
        """Classification of `e164`, from the cache when a number with its prefix was seen."""
        code = country_code(e164)
        if not code:
            return NOT_A_NUMBER
        digits = e164[1:]
        key = f"{digits[: len(code) + PREFIX_DIGITS]}/{len(digits)}"
        entries = self._entries
        info = entries.get(key)
        if info is not None:
            self.hits += 1
            entries.move_to_end(key)
            return info
        self.misses += 1
        info = classify_uncached(e164)
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
