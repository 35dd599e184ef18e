"""Phone numbers and prices: Indian mobiles, high-risk foreign ranges, INR tariffs by prefix."""

from __future__ import annotations

import math

import numpy as np

DOMESTIC_RATE = 0.45
UNANSWERED_CHARGE = 0.02
INBOUND_RATE = 0.15
# Per-minute INR rates for foreign prefixes (longest prefix wins); anything else foreign: 9.0.
FOREIGN_RATES: dict[str, float] = {
    "+1": 1.2,
    "+44": 2.5,
    "+971": 9.0,
    "+65": 3.0,
    "+53": 75.0,
    "+370": 45.0,
    "+371": 48.0,
    "+252": 90.0,
    "+870": 260.0,
    "+881": 280.0,
    "+882": 300.0,
    "+883": 300.0,
    "+979": 150.0,
}
# Country prefix -> (leading national digits, random digits after them) of a plausible range.
NUMBER_FORMATS: dict[str, tuple[str, int]] = {
    "+1": ("4152", 6),
    "+44": ("79", 8),
    "+971": ("50", 7),
    "+65": ("91", 6),
    "+53": ("5", 7),
    "+371": ("2", 7),
    "+370": ("6", 7),
    "+252": ("61", 7),
    "+225": ("07", 8),
    "+232": ("76", 6),
    "+234": ("803", 7),
    "+44871": ("", 7),
    "+37190": ("", 6),
}
HIGH_RISK_PREFIXES = ("+53", "+371", "+370", "+252", "+882", "+881")
ORDINARY_FOREIGN = ("+1", "+44", "+971", "+65")


def random_mobiles(rng: np.random.Generator, count: int) -> list[str]:
    """`count` Indian mobile numbers in E.164 (+91, ten digits starting 6–9)."""
    national = rng.integers(6_000_000_000, 10_000_000_000, size=count)
    return [f"+91{int(n)}" for n in national]


def random_foreign(rng: np.random.Generator, prefixes: tuple[str, ...], count: int) -> list[str]:
    """`count` numbers under the given prefixes, shaped like real numbers of those ranges."""
    picks = rng.integers(0, len(prefixes), size=count)
    out: list[str] = []
    for p in picks:
        prefix = prefixes[int(p)]
        lead, digits = NUMBER_FORMATS.get(prefix, ("", 8))
        tail = int(rng.integers(0, 10**digits))
        out.append(f"{prefix}{lead}{tail:0{digits}d}")
    return out


def rate_per_minute(number: str) -> float:
    """INR per minute for calling `number` (domestic tariff for +91).

    >>> rate_per_minute("+919876543210"), rate_per_minute("+37120000000")
    (0.45, 48.0)
    """
    if number.startswith("+91"):
        return DOMESTIC_RATE
    for size in (4, 3, 2):
        rate = FOREIGN_RATES.get(number[:size])
        if rate is not None:
            return rate
    return 9.0


def call_cost(number: str, talk_s: float, outbound: bool) -> float:
    """Charge in INR: 60-s pulses of the destination rate; a flat fee when unanswered.

    >>> call_cost("+919876543210", 61, True), call_cost("+919876543210", 0, True)
    (0.9, 0.02)
    """
    if talk_s <= 0:
        return UNANSWERED_CHARGE if outbound else 0.0
    rate = rate_per_minute(number) if outbound else INBOUND_RATE
    return round(math.ceil(talk_s / 60.0) * rate, 4)
