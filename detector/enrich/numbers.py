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

Misses stay cheap too (~2 µs instead of ~8): a *plain* number (`_CallingCode`), which
`phonenumbers.parse` would only split, skips parsing and runs prebuilt per-region matchers that
mirror `phonenumbers.number_type` (`_Typer`); other numbers take the full `phonenumbers` path.
The per-code matchers are metadata, built on first use and kept by `reset_cache`.

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
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber, PhoneNumberType
from phonenumbers.re_util import re_compile

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
_MAX_NSN = 17
_NO_PREFIX = re.compile(r"(?!)")
"""Matches nothing: the region has no national prefix to strip."""

_keep_patterns = getattr(phonenumbers, "enable_pattern_cache", None)
if _keep_patterns is not None:  # phonenumbers ≥ 9: compile each metadata regex once, not per call
    _keep_patterns()
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

    A plain number (see `_CallingCode`) skips `phonenumbers.parse` and its per-call overhead;
    any other number is parsed and classified by `_classify_parsed`.
    """
    calling = _calling_code(code)
    national = e164[1 + len(code) :]
    if calling.is_plain(national):
        return calling.classify(national)
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return NOT_A_NUMBER
    return _classify_parsed(parsed, code)


def _classify_parsed(parsed: PhoneNumber, code: str) -> NumberInfo:
    """`classify_uncached` for a parsed number, running the type patterns once.

    `phonenumbers.is_valid_number` is exactly "`number_type` is not UNKNOWN" for the region
    `region_code_for_number` picks (that region always belongs to the number's calling code),
    so one `number_type` call decides both validity and type.
    """
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
    return _info(country, kind, possible, valid)


def _info(country: str, kind: str, possible: bool, valid: bool) -> NumberInfo:
    """The shared `NumberInfo` of these values (a few hundred exist; the cache holds many)."""
    key = (country, kind, possible, valid)
    info = _INFOS.get(key)
    if info is None:
        info = _INFOS[key] = NumberInfo(country, kind, possible=possible, valid=valid)
    return info


def _calling_code(code: str) -> _CallingCode:
    """The prebuilt `_CallingCode` of `code` (built on first use, kept: it is metadata)."""
    found = _CALLING_CODES.get(code)
    if found is None:
        found = _CALLING_CODES[code] = _CallingCode.of(code)
    return found


_TYPE_ORDER = (
    ("premium_rate", "PREMIUM_RATE"),
    ("toll_free", "TOLL_FREE"),
    ("shared_cost", "SHARED_COST"),
    ("voip", "VOIP"),
    ("personal_number", "PERSONAL_NUMBER"),
    ("pager", "PAGER"),
    ("uan", "UAN"),
    ("voicemail", "VOICEMAIL"),
)
"""The number types `phonenumbers` tries, in its order, before fixed line and mobile."""


_Desc = tuple[frozenset[int], str]
"""A `PhoneNumberDesc` as `phonenumbers` matches it: allowed lengths (empty: any), pattern."""
_Plan = tuple[
    re.Pattern[str] | None,
    tuple[tuple[str, re.Pattern[str]], ...],
    re.Pattern[str] | None,
    re.Pattern[str] | None,
]
"""For one length: general, the `_TYPE_ORDER` types, fixed line, mobile (None: cannot match)."""


def _desc(desc: object) -> _Desc | None:
    """The matcher of a metadata description; None when nothing can match it."""
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return frozenset(getattr(desc, "possible_length", ()) or ()), pattern


def _for_length(desc: _Desc | None, size: int) -> re.Pattern[str] | None:
    """The compiled pattern of `desc` when its lengths allow `size` (as `phonenumbers` filters)."""
    if desc is None or (desc[0] and size not in desc[0]):
        return None
    return re_compile(desc[1])  # shared with phonenumbers' own pattern cache


@dataclass(frozen=True, slots=True)
class _Typer:
    """`phonenumbers.number_type` for one region's metadata, with the descriptions prebuilt.

    Mirrors `phonenumberutil._number_type_helper`: the general description must match, then
    the first matching type of `_TYPE_ORDER` wins, then fixed line (or fixed line or mobile),
    then mobile. A description matches when its lengths allow the number's length and its
    pattern matches in full. `tests/test_numbers.py` checks it against `phonenumbers`.
    """

    general: _Desc | None
    types: tuple[tuple[str, _Desc], ...]
    fixed: _Desc | None
    mobile: _Desc | None
    same_fixed_and_mobile: bool
    plans: dict[int, _Plan] = field(default_factory=dict)

    @classmethod
    def of(cls, meta: PhoneMetadata) -> _Typer:
        """The typer of one region's metadata."""
        found = ((kind, _desc(getattr(meta, name, None))) for name, kind in _TYPE_ORDER)
        return cls(
            general=_desc(meta.general_desc),
            types=tuple((kind, desc) for kind, desc in found if desc is not None),
            fixed=_desc(meta.fixed_line),
            mobile=_desc(meta.mobile),
            same_fixed_and_mobile=bool(meta.same_mobile_and_fixed_line_pattern),
        )

    def plan(self, size: int) -> _Plan:
        """The patterns that can match a number of `size` digits (built once per length)."""
        found = self.plans.get(size)
        if found is None:
            types = ((kind, _for_length(desc, size)) for kind, desc in self.types)
            mobile = None if self.same_fixed_and_mobile else _for_length(self.mobile, size)
            found = self.plans[size] = (
                _for_length(self.general, size),
                tuple((kind, pattern) for kind, pattern in types if pattern is not None),
                _for_length(self.fixed, size),
                mobile,
            )
        return found

    def kind(self, nsn: str) -> str | None:
        """The type name of a national significant number, or None when it is not valid."""
        general, types, fixed, mobile = self.plan(len(nsn))
        if general is None or general.fullmatch(nsn) is None:
            return None
        for kind, pattern in types:
            if pattern.fullmatch(nsn) is not None:
                return kind
        if fixed is not None and fixed.fullmatch(nsn) is not None:
            both = self.same_fixed_and_mobile or (mobile is not None and mobile.fullmatch(nsn))
            return "FIXED_LINE_OR_MOBILE" if both else "FIXED_LINE"
        return "MOBILE" if mobile is not None and mobile.fullmatch(nsn) is not None else None


@dataclass(frozen=True, slots=True)
class _Region:
    """One region of a calling code: its leading digits (None: decide by type) and typer."""

    name: str
    leading: re.Pattern[str] | None
    typer: _Typer | None

    @classmethod
    def of(cls, calling: int, name: str) -> _Region:
        """The region `name` of calling code `calling`, from its metadata (typer None: none)."""
        meta = PhoneMetadata.metadata_for_region_or_calling_code(calling, name)
        if meta is None:
            return cls(name, None, None)
        leading = None if meta.leading_digits is None else re_compile(meta.leading_digits)
        return cls(name, leading, _Typer.of(meta))


@dataclass(frozen=True, slots=True)
class _CallingCode:
    """What classifying a plain number of one calling code needs, built once from metadata.

    A national part is *plain* (`is_plain`) when `phonenumbers.parse` would only split
    "+<code><national>": 2..17 digits, no leading zero, and no match for the national prefix
    for parsing of the main region (parse would try to strip it); its national significant
    number is then the digits as written. For it, `classify` gives what `_classify_parsed`
    gives without parsing: `region_code_for_number` and `number_type` are mirrored with
    prebuilt `_Typer`s, and `is_possible_number` (which only looks at the length) is asked
    once per length. A code without metadata has no plain numbers (`prefix` None).
    """

    code: str
    main: str
    names: tuple[str, ...]
    prefix: re.Pattern[str] | None
    possible: dict[int, bool] = field(default_factory=dict)
    regions: dict[str, _Region] = field(default_factory=dict)

    @classmethod
    def of(cls, code: str) -> _CallingCode:
        """The calling code's regions and national prefix, from the installed metadata."""
        calling = int(code)
        names = tuple(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling, ()))
        main = phonenumbers.region_code_for_country_code(calling)
        meta = PhoneMetadata.metadata_for_region_or_calling_code(calling, main)
        pattern = None if meta is None else meta.national_prefix_for_parsing
        prefix = re.compile(f"(?:{pattern})") if pattern else _NO_PREFIX
        return cls(code, main, names, None if meta is None else prefix)

    def region(self, name: str) -> _Region:
        """One of the code's regions, loaded on first use (as phonenumbers loads metadata)."""
        found = self.regions.get(name)
        if found is None:
            found = self.regions[name] = _Region.of(int(self.code), name)
        return found

    def is_plain(self, national: str) -> bool:
        """True when parsing "+<code><national>" would only split it (see the class doc)."""
        return (
            2 <= len(national) <= _MAX_NSN
            and national[0] != "0"
            and self.prefix is not None
            and self.prefix.match(national) is None
        )

    def region_and_kind(self, nsn: str) -> tuple[str | None, str | None]:
        """`region_code_for_number` and the `number_type` name (None: UNKNOWN) of `nsn`."""
        if len(self.names) == 1:
            only = self.region(self.names[0])
            return only.name, None if only.typer is None else only.typer.kind(nsn)
        for name in self.names:
            region = self.region(name)
            if region.typer is None:
                continue
            if region.leading is not None:
                if region.leading.match(nsn):
                    return region.name, region.typer.kind(nsn)
            elif (kind := region.typer.kind(nsn)) is not None:
                return region.name, kind
        return None, None

    def classify(self, national: str) -> NumberInfo:
        """The classification of the plain number "+<code><national>"."""
        possible = self.possible.get(len(national))
        if possible is None:
            number = PhoneNumber(country_code=int(self.code), national_number=int(national))
            possible = bool(phonenumbers.is_possible_number(number))
            self.possible[len(national)] = possible
        region, kind = self.region_and_kind(national)
        valid = kind is not None and self.code not in NON_GEOGRAPHIC_RISK
        if not valid:
            region, kind = self.main, "INVALID"
        country = "" if region in (_NON_GEO_REGION, "ZZ", None) else region
        return _info(country or "", kind or "INVALID", possible, valid)


_CALLING_CODES: dict[str, _CallingCode] = {}
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
