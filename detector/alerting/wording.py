"""Numbers, money, durations, times and places the way a person reads them in an alert.

Pure helpers for the content model: `money(672.4, "INR")` is `₹672`, `duration(300)` is
`5 min`, `clock("2026-03-05T08:38:22Z", "Asia/Kolkata")` is `14:08 IST (08:38 UTC)`,
`country("VN")` is `Vietnam`. Currency always comes from the CDRs (an unknown or empty code is
written after the amount, never guessed); times are shown in the account's timezone with UTC
beside them.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import geocoder

SYMBOLS = {
    "INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$",
    "SGD": "S$", "AED": "AED ", "BRL": "R$", "ZAR": "R", "NGN": "₦", "PHP": "₱", "KRW": "₩",
    "VND": "₫", "THB": "฿", "TRY": "₺", "ILS": "₪", "PLN": "zł ", "CHF": "CHF ",
}  # fmt: skip
"""Currency codes with a symbol people recognise; any other code is written after the amount."""
TYPE_NAMES = {
    "MOBILE": "mobile", "FIXED_LINE": "landline", "FIXED_LINE_OR_MOBILE": "landline or mobile",
    "TOLL_FREE": "toll-free", "PREMIUM_RATE": "premium rate", "SHARED_COST": "shared cost",
    "VOIP": "VoIP", "PERSONAL_NUMBER": "personal number", "PAGER": "pager", "UAN": "UAN",
    "VOICEMAIL": "voicemail", "INVALID": "invalid number", "UNKNOWN": "unknown type", "": "",
}  # fmt: skip


def amount(value: float) -> str:
    """A quantity rounded for people: whole above 100, 3 significant digits below.

    >>> amount(672.4), amount(12345.6), amount(3.14159), amount(0.0), amount(0.004)
    ('672', '12,346', '3.14', '0', '0.004')
    """
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.3g}"


def money(value: float, currency: str) -> str:
    """An amount of money in the CDRs' currency.

    >>> money(672.4, "INR"), money(1234.6, "USD"), money(3.5, "XOF"), money(3.5, "")
    ('₹672', '$1,235', '3.5 XOF', '3.5')
    """
    symbol = SYMBOLS.get(currency.upper())
    text = amount(value)
    if symbol is not None:
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    return f"{text} {currency.upper()}".rstrip()


def duration(seconds: float) -> str:
    """A duration in the one or two largest units.

    >>> duration(300), duration(45), duration(3600), duration(5400), duration(90061)
    ('5 min', '45 s', '1 h', '1 h 30 min', '1 d 1 h')
    """
    s = max(round(seconds), 0)
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        if s >= size or (name == "s" and not parts):
            parts.append(f"{s // size} {name}")
            s %= size
        if len(parts) == 2 or (parts and s == 0):
            break
    return " ".join(parts)


def percent(share: float) -> str:
    """A share as a whole percentage (one decimal below 1 %).

    >>> percent(0.764), percent(0.004), percent(1.0)
    ('76 %', '0.4 %', '100 %')
    """
    value = share * 100
    return f"{value:.1f} %" if 0 < value < 1 else f"{value:.0f} %"


def parse_utc(stamp: str) -> datetime | None:
    """`2026-03-05T08:38:22Z` as an aware datetime, or None when it is not one."""
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, UTC when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock(stamp: str, timezone: str, *, date: bool = False) -> str:
    """A UTC time in the account's timezone, UTC beside it (the date too when asked).

    >>> clock("2026-03-05T08:38:22Z", "Asia/Kolkata")
    '14:08 IST (08:38 UTC)'
    >>> clock("2026-03-05T23:38:22Z", "Asia/Kolkata", date=True)
    '6 Mar 05:08 IST (5 Mar 23:38 UTC)'
    >>> clock("soon", "UTC")
    'soon'
    """
    at = parse_utc(stamp)
    if at is None:
        return stamp
    local = at.astimezone(zone(timezone))
    fmt = "%-d %b %H:%M" if date else "%H:%M"
    name = local.tzname() or timezone
    if local.utcoffset() == at.utcoffset():
        return f"{at.strftime(fmt)} UTC"
    return f"{local.strftime(fmt)} {name} ({at.strftime(fmt)} UTC)"


@functools.lru_cache(maxsize=512)
def country(code: str) -> str:
    """The English name of an ISO 3166 alpha-2 country code (the code itself when unknown).

    >>> country("VN"), country("GB"), country(""), country("ZZ")
    ('Vietnam', 'United Kingdom', 'unknown country', 'ZZ')
    """
    if not code:
        return "unknown country"
    example = phonenumbers.example_number(code.upper())
    name = geocoder.country_name_for_number(example, "en") if example is not None else ""
    return name or code.upper()


def number_type(name: str) -> str:
    """A phonenumbers type name in words (`PREMIUM_RATE` → `premium rate`)."""
    return TYPE_NAMES.get(name, name.replace("_", " ").lower())
