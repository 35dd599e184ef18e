"""Destination country and type, and the prefix cache behind them (detector.enrich.numbers)."""

from __future__ import annotations

import random
import warnings
from typing import Any

import phonenumbers
import pytest

from detector.enrich.numbers import (
    PREFIX_DIGITS,
    NumberCache,
    NumberInfo,
    classify,
    classify_uncached,
    country_code,
    is_international,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sc
    import sre_parse


@pytest.mark.parametrize(
    ("number", "country", "kind"),
    [
        ("+919876543210", "IN", "MOBILE"),
        ("+911800123456", "IN", "TOLL_FREE"),
        ("+449098790000", "GB", "PREMIUM_RATE"),
        ("+19005551234", "US", "PREMIUM_RATE"),
        ("+447400123456", "GB", "MOBILE"),
    ],
)
def test_known_ranges(number: str, country: str, kind: str) -> None:
    """Indian mobile, UK 09 premium, US 900 premium and others get their country and type."""
    assert classify(number) == NumberInfo(country, kind, possible=True, valid=True)


@pytest.mark.parametrize(
    "number", ["+882123456789", "+88213400000", "+883510012345", "+979123456789"]
)
def test_international_networks_are_never_valid(number: str) -> None:
    """+882, +883 and +979 numbers are not valid, even the ranges phonenumbers accepts."""
    info = classify(number)
    assert (info.valid, info.type, info.country) == (False, "INVALID", "")


def test_possible_but_invalid_keeps_country() -> None:
    """An unallocated number in a known country stays possible, invalid, with that country."""
    assert classify("+5312345678") == NumberInfo("CU", "INVALID", possible=True, valid=False)


@pytest.mark.parametrize(
    "text", ["", "+", "anonymous", "12345", "+91 98765", "+٩١٩٨٧٦٥٤٣٢١٠", "+" + "9" * 30]
)
def test_non_numbers_are_invalid(text: str) -> None:
    """Anything that is not "+" and ASCII digits is INVALID, not possible, countryless."""
    assert classify(text) == NumberInfo("", "INVALID", possible=False, valid=False)


def test_country_code() -> None:
    """The calling code is the one prefix of 1–3 digits that phonenumbers knows."""
    assert [country_code(n) for n in ("+18005550100", "+447400123456", "+8801712345678")] == [
        "1",
        "44",
        "880",
    ]


@pytest.mark.parametrize(
    ("number", "home", "expected"),
    [
        ("+919876543210", "IN", False),
        ("+447400123456", "in", True),
        ("+18765550123", "US", True),
        ("+882123456789", "IN", True),
        ("anonymous", "IN", False),
    ],
)
def test_is_international(number: str, home: str, expected: bool) -> None:
    """International means another country, a countryless network, but never a non-number."""
    assert is_international(number, home) is expected


def test_cache_hit_matches_uncached() -> None:
    """Numbers sharing a cached prefix get the same answer as classifying them afresh."""
    cache = NumberCache()
    rng = random.Random(7)
    seeds = ["+919876543210", "+14155550123", "+449098790000", "+302101234567", "+5712345678"]
    for seed in seeds:
        cache.classify(seed)
        for _ in range(20):
            keep = len(country_code(seed)) + PREFIX_DIGITS
            number = seed[: 1 + keep] + "".join(rng.choice("0123456789") for _ in seed[1 + keep :])
            assert cache.classify(number) == classify_uncached(number)
    assert cache.hits >= 20 * len(seeds) - 10


def test_cache_is_bounded_lru() -> None:
    """The cache never holds more than maxsize prefixes and evicts the least recently used."""
    cache = NumberCache(maxsize=2)
    for number in ("+919876543210", "+447400123456", "+919876543210", "+14155550123"):
        cache.classify(number)
    assert len(cache) == 2
    cache.classify("+919876543299")
    assert cache.hits == 2
    cache.classify("+447400123456")
    assert cache.misses == 4


def _chars(op: Any, arg: Any) -> set[str] | None:
    """The characters one regex atom accepts, or None when unknown."""
    if op is sc.LITERAL:
        return {chr(arg)}
    if op is not sc.IN:
        return None
    chars: set[str] = set()
    for kind, value in arg:
        if kind is sc.LITERAL:
            chars.add(chr(value))
        elif kind is sc.RANGE:
            chars.update(chr(c) for c in range(value[0], value[1] + 1))
        elif kind is sc.CATEGORY and value is sc.CATEGORY_DIGIT:
            chars.update("0123456789")
        else:
            return None
    return chars


def _depth(items: Any, offsets: set[int]) -> tuple[set[int], int]:
    """Offsets after matching `items` from `offsets`, and the deepest digit constrained."""
    deepest = 0
    for op, arg in items:
        if op in (sc.LITERAL, sc.IN):
            chars = _chars(op, arg)
            if chars is None or not set("0123456789") <= chars:
                deepest = max(deepest, max(offsets) + 1)
            offsets = {o + 1 for o in offsets}
        elif op is sc.SUBPATTERN:
            offsets, d = _depth(arg[-1], offsets)
            deepest = max(deepest, d)
        elif op is sc.BRANCH:
            results = [_depth(branch, offsets) for branch in arg[1]]
            offsets = set().union(*(r[0] for r in results))
            deepest = max(deepest, *(r[1] for r in results))
        elif op in (sc.MAX_REPEAT, sc.MIN_REPEAT):
            low, high, sub = arg
            high = min(high, 20)
            current, reached = offsets, set()
            for count in range(high + 1):
                if count >= low:
                    reached |= current
                if count < high:
                    current, d = _depth(sub, current)
                    current = {o for o in current if o <= 20}
                    deepest = max(deepest, d)
            offsets = reached
        elif op is not sc.AT:
            return offsets, 99
    return offsets, deepest


DESCRIPTIONS = (
    "general_desc",
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


def _metadata_patterns() -> list[str]:
    """Every regex over national numbers that phonenumbers uses to classify."""
    patterns: list[str] = []
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            if meta is None:
                continue
            for name in DESCRIPTIONS:
                desc = getattr(meta, name, None)
                if desc is not None and desc.national_number_pattern:
                    patterns.append(desc.national_number_pattern)
            patterns.extend(p for p in (meta.national_prefix_for_parsing, meta.leading_digits) if p)
    return patterns


def test_no_metadata_pattern_looks_past_the_cache_prefix() -> None:
    """No classifying regex constrains a digit past PREFIX_DIGITS, so the cache key is exact."""
    patterns = _metadata_patterns()
    assert len(patterns) > 1000
    deepest = {p: _depth(sre_parse.parse(p), {0})[1] for p in patterns}
    worst = max(deepest, key=lambda p: deepest[p])
    assert deepest[worst] <= PREFIX_DIGITS, worst


def _example_numbers() -> list[str]:
    """Every example number in the metadata (each region, each type) as E.164 text."""
    found = []
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            for name in DESCRIPTIONS:
                desc = getattr(meta, name, None) if meta is not None else None
                if desc is not None and desc.example_number:
                    found.append(f"+{code}{desc.example_number}")
    return found


def test_every_example_number_and_its_neighbours_match_phonenumbers() -> None:
    """Every metadata example, and variants with changed digits, classify as phonenumbers says."""
    rng = random.Random(5)
    examples = _example_numbers()
    assert len(examples) > 1000
    cache = NumberCache()
    for number in examples:
        code = country_code(number)
        variants = [number, number[:-1], number + "7"]
        for position in (len(code) + 1, len(code) + 2, len(number) - 1):
            digit = rng.choice("0123456789")
            variants.append(number[:position] + digit + number[position + 1 :])
        for variant in variants:
            assert cache.classify(variant) == classify_uncached(variant), variant


def test_same_prefix_different_length_are_cached_apart() -> None:
    """Numbers sharing the key prefix but not the length get their own classification."""
    cache = NumberCache()
    numbers = ["+447400123456", "+4474001234567", "+44740012345"]
    assert [cache.classify(n) for n in numbers] == [classify_uncached(n) for n in numbers]
    assert cache.misses == 3
