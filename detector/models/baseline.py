"""An account's own seasonal baseline: running mean and variance of each feature per slot.

A slot is a block of hours of the day, split weekday/weekend (48 slots at the default 1-hour
blocks). Each (slot, feature) keeps an exponentially weighted mean (float32) and standard
deviation (float16: it only sets a scale, 0.05 % precision is plenty and the running variance
update multiplies it by 1 − alpha, far above that precision), so one account's baseline
pickles to ~3.4 KB. The first observations of a slot are
averaged exactly (weight 1/n) until the weight reaches `alpha`, then old buckets fade.

Deviations are z-scores against the slot with floors, so a stretch of identical buckets
(zero variance) does not turn a small change into an extreme score: counts get a Poisson
floor (variance at least the mean, plus one), every feature an absolute and a relative floor.
"""

from __future__ import annotations

import math
import struct
from array import array
from dataclasses import dataclass, field

from detector.models.features import COUNT_FEATURES, FEATURES

N_FEATURES = len(FEATURES)

_ABS_FLOOR = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 1.0, 0.1, 0.1, 3.0)
"""Smallest standard deviation per feature, in the feature's unit (calls, minutes, share, s)."""

_HALF = struct.Struct("<e")
_HALF_MAX = 65504.0

_REL_FLOOR = 0.1
"""Smallest standard deviation as a share of the mean (10 %)."""


def slot_count(slot_hours: int) -> int:
    """How many slots a day split into `slot_hours` blocks, weekday/weekend, gives.

    >>> slot_count(1), slot_count(2)
    (48, 24)
    """
    return 2 * (24 // slot_hours)


@dataclass(slots=True)
class Baseline:
    """Per-slot running mean (float32) and deviation (float16) of every feature; slot counts.

    Counts saturate at 255: past 1/alpha buckets the learning weight no longer depends on them.
    """

    mean: array[float]
    sd: bytearray
    seen: array[int] = field(default_factory=lambda: array("B"))
    active: array[int] = field(default_factory=lambda: array("B"))

    def __getstate__(self) -> tuple[bytes, bytes, bytes, bytes]:
        """Pickle as four byte strings (no field names, no array headers): keeps state small."""
        return self.mean.tobytes(), bytes(self.sd), self.seen.tobytes(), self.active.tobytes()

    def __setstate__(self, state: tuple[bytes, bytes, bytes, bytes]) -> None:
        """Inverse of `__getstate__`."""
        mean, sd, seen, active = state
        self.mean = array("f", mean)
        self.sd = bytearray(sd)
        self.seen = array("B", seen)
        self.active = array("B", active)

    @classmethod
    def empty(cls, slots: int) -> Baseline:
        """A baseline with no observations in any of `slots` slots."""
        size = slots * N_FEATURES
        mean = array("f", bytes(4 * size))
        return cls(mean, bytearray(2 * size), array("B", bytes(slots)), array("B", bytes(slots)))

    def count(self, slot: int) -> int:
        """How many buckets the slot has learned."""
        return self.seen[slot]

    def stats(self, slot: int, feature: int) -> tuple[float, float]:
        """Mean and floored standard deviation of a feature in a slot."""
        i = slot * N_FEATURES + feature
        mean = self.mean[i]
        var = (
            _HALF.unpack_from(self.sd, 2 * i)[0] ** 2
            + _ABS_FLOOR[feature] ** 2
            + (_REL_FLOOR * mean) ** 2
        )
        if feature < COUNT_FEATURES:
            var += max(mean, 0.0)
        return mean, math.sqrt(var)

    def deviations(self, slot: int, x: list[float], attempts: int) -> list[float]:
        """Signed z-score of each feature against the slot; shares and ring are 0 when empty."""
        z = []
        for f, value in enumerate(x):
            if f >= COUNT_FEATURES and attempts == 0:
                z.append(0.0)
                continue
            mean, sd = self.stats(slot, f)
            z.append((value - mean) / sd)
        return z

    def learn(self, slot: int, x: list[float], attempts: int, alpha: float) -> None:
        """Fold a closed bucket into its slot (ratio features only when it had calls)."""
        self.seen[slot] = n = min(self.seen[slot] + 1, 255)
        self._fold(slot * N_FEATURES, x, range(COUNT_FEATURES), max(1.0 / n, alpha))
        if attempts:
            self.active[slot] = n = min(self.active[slot] + 1, 255)
            self._fold(slot * N_FEATURES, x, range(COUNT_FEATURES, N_FEATURES), max(1.0 / n, alpha))

    def _fold(self, base: int, x: list[float], features: range, a: float) -> None:
        for f in features:
            i = base + f
            diff = x[f] - self.mean[i]
            incr = a * diff
            self.mean[i] += incr
            var = (1.0 - a) * (_HALF.unpack_from(self.sd, 2 * i)[0] ** 2 + diff * incr)
            _HALF.pack_into(self.sd, 2 * i, min(math.sqrt(max(var, 0.0)), _HALF_MAX))

    def usual(self, slot: int, feature: int) -> float:
        """The slot's mean of a feature (what the explanation calls "usual")."""
        return float(self.mean[slot * N_FEATURES + feature])
