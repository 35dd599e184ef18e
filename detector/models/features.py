"""Features of one account's time bucket: a cheap accumulator per CDR, a vector per bucket.

Per CDR the model does a handful of additions (`Bucket.add`); only when a bucket closes are the
eleven features computed (`Bucket.vector`). Distinct destinations are counted with a 1,024-bit
linear-counting bitmap (128 bytes, exact enough up to ~2,000 numbers), hashed with CRC-32 so
the count is the same in every process (Python's `hash` of a str is salted per process).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from detector.domain import CDR, Status
from detector.enrich.kpi import SHORT_CALL_S

FEATURES: tuple[str, ...] = (
    "attempts",
    "answered",
    "short calls",
    "no-answer",
    "failed",
    "talk minutes",
    "spend",
    "distinct destinations",
    "international share",
    "premium/invalid share",
    "mean ring",
)
"""Feature names in vector order; the explanation uses them verbatim."""

COUNT_FEATURES = 8
"""The first eight features are totals: an empty bucket has them all at zero."""

SHARES = frozenset({8, 9})
"""Indexes of features that are shares in [0, 1]."""

RISKY_TYPES = frozenset({"PREMIUM_RATE", "INVALID"})
"""`CDR.dest_type` values counted as premium or invalid destinations."""

EVIDENCE_IDS = 3
"""How many call ids a bucket keeps as evidence."""

_BITMAP_BITS = 1024


def distinct_estimate(bitmap: int, bits: int = _BITMAP_BITS) -> float:
    """Linear-counting estimate of how many distinct values set the bits of `bitmap`.

    >>> distinct_estimate(0)
    0.0
    >>> round(distinct_estimate(0b111))
    3
    """
    zeros = bits - bitmap.bit_count()
    if zeros == 0:
        return bits * math.log(bits)
    return bits * math.log(bits / zeros)


@dataclass(slots=True)
class Bucket:
    """Running totals of the CDRs of one account in one time bucket."""

    attempts: int = 0
    answered: int = 0
    short: int = 0
    no_answer: int = 0
    failed: int = 0
    talk_s: float = 0.0
    spend: float = 0.0
    international: int = 0
    risky: int = 0
    ring_s: float = 0.0
    destinations: int = 0
    call_ids: list[str] = field(default_factory=list)

    def __getstate__(self) -> tuple[object, ...]:
        """Pickle as a plain tuple of the fields (no field names): keeps state small."""
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        """Inverse of `__getstate__`."""
        for name, value in zip(self.__slots__, state, strict=True):
            object.__setattr__(self, name, value)

    def add(self, cdr: CDR, home_country: str) -> None:
        """Count one CDR into the bucket (a few additions)."""
        self.attempts += 1
        if cdr.status is Status.ANSWERED:
            self.answered += 1
            self.short += cdr.talk_s < SHORT_CALL_S
        elif cdr.status is Status.NO_ANSWER:
            self.no_answer += 1
        elif cdr.status is Status.FAILED:
            self.failed += 1
        self.talk_s += cdr.talk_s
        self.spend += cdr.cost
        self.international += bool(cdr.dest_country) and cdr.dest_country != home_country
        self.risky += cdr.dest_type in RISKY_TYPES
        self.ring_s += cdr.ring_s
        self.destinations |= 1 << (zlib.crc32(cdr.to_number.encode()) % _BITMAP_BITS)
        if len(self.call_ids) < EVIDENCE_IDS:
            self.call_ids.append(cdr.call_id)

    def vector(self) -> list[float]:
        """The feature vector in `FEATURES` order; shares are 0 for an empty bucket."""
        n = self.attempts
        return [
            float(n),
            float(self.answered),
            float(self.short),
            float(self.no_answer),
            float(self.failed),
            self.talk_s / 60.0,
            self.spend,
            distinct_estimate(self.destinations),
            self.international / n if n else 0.0,
            self.risky / n if n else 0.0,
            self.ring_s / n if n else 0.0,
        ]
