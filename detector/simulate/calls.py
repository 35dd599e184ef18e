"""Calls as numpy columns: the simulator's internal form before they become wire rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Outcome:
    """How a call ended: status (shape-A spelling), hangup cause text and numeric code."""

    status: str
    cause: str
    code: int


ANSWERED, NO_ANSWER, BUSY, CANCELLED, REJECTED = range(5)
INVALID, UNALLOCATED, CONGESTION, TEMP_FAIL = range(5, 9)
OUTCOMES: tuple[Outcome, ...] = (
    Outcome("answered", "NORMAL_CLEARING", 4000),
    Outcome("no-answer", "NO_ANSWER", 3000),
    Outcome("busy", "USER_BUSY", 3010),
    Outcome("cancelled", "ORIGINATOR_CANCEL", 1000),
    Outcome("busy", "CALL_REJECTED", 3020),
    Outcome("failed", "INVALID_NUMBER_FORMAT", 2000),
    Outcome("failed", "UNALLOCATED_NUMBER", 3050),
    Outcome("failed", "SWITCH_CONGESTION", 3090),
    Outcome("failed", "NORMAL_TEMPORARY_FAILURE", 3090),
)
# Shares of the unanswered calls in ordinary traffic, indexed like OUTCOMES[1:].
UNANSWERED_MIX = np.array([0.55, 0.22, 0.09, 0.04, 0.02, 0.03, 0.03, 0.02])


@dataclass(frozen=True)
class CallSet:
    """Columns of equal length; `start` is UTC epoch seconds, `account` an index into accounts."""

    account: IntArray
    outbound: BoolArray
    start: FloatArray
    ring: FloatArray
    talk: FloatArray
    outcome: IntArray
    from_num: StrArray
    to_num: StrArray

    def __len__(self) -> int:
        """Number of calls."""
        return int(self.start.shape[0])

    def select(self, mask: BoolArray) -> CallSet:
        """The calls where `mask` is true."""
        return CallSet(*(getattr(self, f)[mask] for f in _FIELDS))

    @property
    def end(self) -> FloatArray:
        """End time of every call: start + ring + talk."""
        return self.start + self.ring + self.talk


_FIELDS = ("account", "outbound", "start", "ring", "talk", "outcome", "from_num", "to_num")


def concat(parts: list[CallSet]) -> CallSet:
    """One CallSet holding all calls of `parts`, in order."""
    if not parts:
        return empty()
    return CallSet(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


def empty() -> CallSet:
    """A CallSet with no calls."""
    return build(np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0), from_num=[], to_num=[],
                 talk=np.zeros(0))  # fmt: skip


def strings(values: list[str]) -> StrArray:
    """An object array of strings (numpy would otherwise pick a fixed-width dtype)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def build(
    account: IntArray,
    outbound: BoolArray,
    start: FloatArray,
    *,
    from_num: list[str],
    to_num: list[str],
    talk: FloatArray,
    outcome: IntArray | None = None,
    ring: FloatArray | None = None,
    rng: np.random.Generator | None = None,
) -> CallSet:
    """Assemble calls; talk is forced to 0 for unanswered ones, ring drawn when not given."""
    n = int(start.shape[0])
    outcome = np.zeros(n, np.int64) if outcome is None else outcome
    if ring is None:
        ring = draw_ring(rng or np.random.default_rng(0), outcome)
    talk = np.where(outcome == ANSWERED, np.maximum(np.round(talk), 1.0), 0.0)
    return CallSet(
        account.astype(np.int64),
        outbound.astype(bool),
        start.astype(np.float64),
        np.round(ring).astype(np.float64),
        talk,
        outcome.astype(np.int64),
        strings(from_num),
        strings(to_num),
    )


def draw_outcomes(rng: np.random.Generator, asr: FloatArray) -> IntArray:
    """One outcome per call: answered with probability `asr`, else from UNANSWERED_MIX."""
    n = int(asr.shape[0])
    other = rng.choice(np.arange(1, len(OUTCOMES)), size=n, p=UNANSWERED_MIX / UNANSWERED_MIX.sum())
    return np.where(rng.random(n) < asr, ANSWERED, other).astype(np.int64)


def draw_ring(rng: np.random.Generator, outcome: IntArray) -> FloatArray:
    """Ring seconds by outcome: ~8 s median when answered, 30–60 s to a no-answer timeout."""
    n = int(outcome.shape[0])
    answered = np.clip(rng.lognormal(np.log(8.0), 0.4, n), 1.0, 45.0)
    timeout = rng.uniform(30.0, 60.0, n)
    short = rng.uniform(0.0, 3.0, n)
    cancelled = rng.uniform(2.0, 25.0, n)
    ring = np.where(outcome == ANSWERED, answered, short)
    ring = np.where(outcome == NO_ANSWER, timeout, ring)
    return np.where(outcome == CANCELLED, cancelled, ring)
