"""Per-calling-code matchers prebuilt from `phonenumbers`' metadata: region and type, no parsing.

A classification cache miss in `detector.enrich.numbers` must stay cheap (~2 µs instead of
~8). For a *plain* number (`CallingCode.is_plain`), which `phonenumbers.parse` would only
split, these matchers answer what `phonenumbers` would: `region_code_for_number` and
`number_type` are mirrored by prebuilt per-region `_Typer`s that copy
`phonenumberutil._number_type_helper`, and `is_possible_number` (which only looks at the
length) is asked once per length. Only facts live here; the departures from raw
`phonenumbers` (INVALID, risky codes, the main region of an invalid number) are the policy of
`detector.enrich.numbers`. The matchers are metadata: built on first use (`calling_code`)
and kept for the life of the process. `tests/test_numbers.py` and tests/test_fast_paths.py
check them against `phonenumbers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber
from phonenumbers.re_util import re_compile

_MAX_NSN = 17
_NO_PREFIX = re.compile(r"(?!)")
"""Matches nothing: the region has no national prefix to strip."""

_keep_patterns = getattr(phonenumbers, "enable_pattern_cache", None)
if _keep_patterns is not None:  # phonenumbers ≥ 9: compile each metadata regex once, not per call
    _keep_patterns()

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
class CallingCode:
    """What `phonenumbers` says about a plain number of one calling code, built from metadata.

    A national part is *plain* (`is_plain`) when `phonenumbers.parse` would only split
    "+<code><national>": 2..17 digits, no leading zero, and no match for the national prefix
    for parsing of the main region (parse would try to strip it); its national significant
    number is then the digits as written. For it, `region_and_kind` gives what
    `region_code_for_number` and `number_type` give, and `is_possible` what
    `is_possible_number` gives, without parsing. A code without metadata has no plain numbers
    (`prefix` None).
    """

    code: str
    main: str
    names: tuple[str, ...]
    prefix: re.Pattern[str] | None
    possible_by_length: dict[int, bool] = field(default_factory=dict)
    regions: dict[str, _Region] = field(default_factory=dict)

    @classmethod
    def of(cls, code: str) -> CallingCode:
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

    def is_possible(self, national: str) -> bool:
        """`is_possible_number` of "+<code><national>" (it only looks at the length)."""
        size = len(national)
        possible = self.possible_by_length.get(size)
        if possible is None:
            number = PhoneNumber(country_code=int(self.code), national_number=int(national))
            possible = self.possible_by_length[size] = bool(phonenumbers.is_possible_number(number))
        return possible

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


_CALLING_CODES: dict[str, CallingCode] = {}


def calling_code(code: str) -> CallingCode:
    """The prebuilt `CallingCode` of `code` (built on first use, kept: it is metadata).

    >>> us = calling_code("1")
    >>> us.main, us.is_plain("9005551234"), us.region_and_kind("9005551234")
    ('US', True, ('US', 'PREMIUM_RATE'))
    """
    found = _CALLING_CODES.get(code)
    if found is None:
        found = _CALLING_CODES[code] = CallingCode.of(code)
    return found
