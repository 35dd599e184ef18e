"""What the model counts per account and time bucket, and the features it judges.

Per CDR the model does a handful of additions (`Bucket.add`); everything it judges is a count,
so count statistics (`counts.py`) apply: the bucket's calls against the account's seasonal
level, and seven parts of them (unanswered, failed, short, long, international,
premium/invalid, from a new caller id or trunk) against the account's usual share of their
parent count (calls, answered calls or outbound calls).

"Long" is relative to the account: longer than its usual 90th percentile of talk time (from a
running log-normal fit), so duration creep shows as a growing share of long calls whatever the
account's normal call length. "New caller" means an outbound caller id, or a trunk, that is
not in the account's set of known ones (a 512-bit hashed set, CRC-32 so the same in every
process); up to `NEW_BITS` new items per bucket are remembered so the set learns them once
the bucket is judged normal, and never from a bucket judged anomalous.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

from detector.domain import CDR, Direction, Status
from detector.enrich.kpi import SHORT_CALL_S

RISKY_TYPES = frozenset({"PREMIUM_RATE", "INVALID"})
"""`CDR.dest_type` values counted as premium or invalid destinations."""

EVIDENCE_IDS = 3
"""How many call ids a bucket keeps as evidence (first calls, then unusual ones replace the
last slot)."""

NEW_BITS = 8
"""New caller ids / trunks a bucket remembers for the known-caller set."""

CALLER_BITS = 512
"""Size of an account's known caller-id and trunk set, in bits (64 bytes)."""


class Feature(NamedTuple):
    """One judged feature: config key, words for the explanation, count and parent fields."""

    key: str
    name: str
    part: str
    parent: str
    """Bucket field the count is a part of ("" for calls, judged against the seasonal level)."""


FEATURES: tuple[Feature, ...] = (
    Feature("calls", "calls", "attempts", ""),
    Feature("no_answer", "unanswered", "no_answer", "attempts"),
    Feature("failed", "failed", "failed", "attempts"),
    Feature("short", "short answered", "short", "answered"),
    Feature("long", "long calls", "long", "answered"),
    Feature("international", "international", "intl", "outbound"),
    Feature("premium_invalid", "premium/invalid", "risky", "outbound"),
    Feature("new_caller", "new caller id/trunk", "new", "attempts"),
)
"""Features in judgement order; index 0 (calls) is the seasonal one."""

PARENTS: tuple[str, ...] = ("answered", "outbound")
"""Parent counts that are themselves shares of calls (kept for the early look's expectations)."""

KEYS = tuple(f.key for f in FEATURES)
N_FEATURES = len(FEATURES)
N_SHARES = N_FEATURES - 1 + len(PARENTS)
"""Shares the baseline keeps: the seven judged ones, then answered and outbound."""


def caller_bit(text: str) -> int:
    """The known-caller set's bit for a caller id or trunk (stable across processes).

    >>> caller_bit("+911140000000") == caller_bit("+911140000000"), 0 <= caller_bit("t1") < 512
    (True, True)
    """
    return zlib.crc32(text.encode()) % CALLER_BITS


def known(bits: bytearray, bit: int) -> bool:
    """Whether `bit` is set in a known-caller set."""
    return bool(bits[bit >> 3] & (1 << (bit & 7)))


def remember(bits: bytearray, bit: int) -> None:
    """Set `bit` in a known-caller set."""
    bits[bit >> 3] |= 1 << (bit & 7)


@dataclass(slots=True)
class Bucket:
    """Running totals of the CDRs of one account that started in one time bucket."""

    attempts: int = 0
    outbound: int = 0
    answered: int = 0
    no_answer: int = 0
    failed: int = 0
    short: int = 0
    long: int = 0
    intl: int = 0
    risky: int = 0
    new: int = 0
    talked: int = 0
    talk_s: float = 0.0
    log_talk: float = 0.0
    log_talk2: float = 0.0
    new_bits: list[int] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)
    looked: int = 0
    """The early look has judged this bucket (its findings are not repeated when final)."""
    lift: float = 1.0
    """The running day's own level when the bucket ended (`daylevel.lift`), for its final
    judgement."""

    def __getstate__(self) -> tuple[object, ...]:
        """Pickle as a plain tuple of the fields (no field names): keeps state small."""
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        """Inverse of `__getstate__`; the layout before `lift` gains it, another layout (an
        older release's) loads empty."""
        if len(state) == len(self.__slots__) - 1:  # the release before `lift`
            state = (*state, 1.0)
        if len(state) != len(self.__slots__):
            state = Bucket().__getstate__()
        for name, value in zip(self.__slots__, state, strict=True):
            object.__setattr__(self, name, value)

    def add(self, cdr: CDR, home_country: str, long_s: float, callers: bytearray) -> None:
        """Count one CDR into the bucket (a few additions and at most two CRC-32s)."""
        self.attempts += 1
        unusual = False
        status = cdr.status
        if status is Status.ANSWERED:
            self.answered += 1
            talk = cdr.talk_s
            if talk < SHORT_CALL_S:
                self.short += 1
            elif talk > long_s:
                self.long += 1
                unusual = True
            if talk > 0.0:
                self.talked += 1
                self.talk_s += talk
                lt = math.log(talk)
                self.log_talk += lt
                self.log_talk2 += lt * lt
        elif status is Status.NO_ANSWER:
            self.no_answer += 1
        elif status is Status.FAILED:
            self.failed += 1
        fresh = False
        if cdr.direction is Direction.OUTBOUND:
            self.outbound += 1
            country = cdr.dest_country
            if country and country != home_country:
                self.intl += 1
                unusual = True
            if cdr.dest_type in RISKY_TYPES:
                self.risky += 1
                unusual = True
            fresh = self._unknown(caller_bit(cdr.from_number), callers)
        if cdr.trunk:
            fresh = self._unknown(caller_bit(cdr.trunk), callers) or fresh
        if fresh:
            self.new += 1
            unusual = True
        self._evidence(cdr.call_id, unusual)

    def _unknown(self, bit: int, callers: bytearray) -> bool:
        """Whether a caller id or trunk is unknown; remember up to NEW_BITS of them."""
        if callers[bit >> 3] & (1 << (bit & 7)):
            return False
        new_bits = self.new_bits
        if bit not in new_bits and len(new_bits) < NEW_BITS:
            new_bits.append(bit)
        return True

    def _evidence(self, call_id: str, unusual: bool) -> None:
        ids = self.call_ids
        if len(ids) < EVIDENCE_IDS:
            ids.append(call_id)
        elif unusual:
            ids[-1] = call_id

    def value(self, name: str) -> int:
        """A count field by name ("attempts" for "" so `Feature.parent` works for calls)."""
        return int(getattr(self, name or "attempts"))

    def parts(self) -> tuple[int, ...]:
        """Each feature's count, in `FEATURES` order."""
        return (self.attempts, self.no_answer, self.failed, self.short, self.long, self.intl,
                self.risky, self.new)  # fmt: skip

    def parents(self) -> tuple[int, ...]:
        """Each feature's parent count, in `FEATURES` order (calls for calls)."""
        a, answered, outbound = self.attempts, self.answered, self.outbound
        return (a, a, a, answered, answered, outbound, outbound, a)
