"""A standalone online anomaly scorer for any numeric series, or many keyed ones.

The same ideas as the CDR model, for values anyone can bring (the format of public
streaming-anomaly benchmarks: a timestamp and a value per row):

- each value is judged against its key's own seasonal normal: its hour of the day on
  weekdays or weekends (48 slots) when timestamps are given, shrunk towards the key's
  overall level while a slot has few values;
- counts (every value so far a whole number >= 0) are judged with count statistics
  (negative binomial deviance, so 3 where 0.1 is usual is as surprising as it should be);
  other values with a z-score whose deviation never falls below 1 % of the level or 0.1 % of
  the series' scale (a constant stretch does not make the next small change extreme);
- a recent window (decayed sums over ~`window` values) catches a level shift no single value
  shows;
- values judged unusual are learned with a tenth of the weight, so an anomaly is not
  absorbed at once and its repeats stay unusual, while a lasting new level is accepted over
  time.

Scores are in [0, 1]: 1 − p^(1/7) of the Bonferroni-corrected tail probability p of the
more surprising of the two looks (0.5 at one in 100, 0.9 at one in ten million). Streaming
and river-style: `score_one` uses only what `learn_one` was given before.

>>> scorer = SeriesScorer()
>>> for v in [10, 11, 9, 10, 12, 10, 9, 11, 10, 10] * 5:
...     _ = scorer.score_one(v)
...     scorer.learn_one(v)
>>> scorer.score_one(10) < 0.2, scorer.score_one(40) > 0.9
(True, True)
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from detector.models.counts import count_deviance, score, surprise

SLOTS = 48
SLOT_CAP = 40
"""A slot's statistics weigh its last ~40 values."""
LEVEL_CAP = 200
"""The key's overall level weighs its last ~200 values."""
PRIOR_VALUES = 4.0
"""A slot's own values count against this many of the overall level's while it has few."""
UNUSUAL_WEIGHT = 0.1
"""Weight of a value judged unusual when it is learned."""
MIN_HISTORY = 8
"""Values a key needs before any score above 0."""

Instant = datetime | float | int | None


@dataclass(slots=True)
class _Key:
    """One key's learned normal (about 1.3 KB)."""

    stats: array[float] = field(default_factory=lambda: array("d", bytes(8 * (3 * SLOTS + 11))))
    """Per slot mean, variance, weight; then level mean, variance, weight, mean |value|,
    window sum of residuals, window weight, count spread numerator, denominator, and the
    window statistic's own running mean, variance and weight."""
    seen: int = 0
    counts: bool = True
    """Every value so far was a whole number >= 0."""


@dataclass(frozen=True, slots=True)
class Look:
    """How one value looks to the scorer: its score, surprise and the slot it falls in."""

    score: float
    surprise: float
    z: float
    expected: float


class SeriesScorer:
    """Anomaly scores in [0, 1] for keyed numeric series, learned online (see module doc).

    Parameters: `window` values of mean age in the recent window (level shifts), `learn_below`
    standard deviations beyond which a value is learned with a tenth of the weight, `timezone`
    of the seasonal slots (timestamps without a zone are read as UTC).
    """

    def __init__(self, *, window: float = 12.0, learn_below: float = 3.0, timezone: str = "UTC"):
        self.keep = 1.0 - 1.0 / max(window, 1.0)
        self.learn_below = learn_below
        self.zone = ZoneInfo(timezone)
        self.keys: dict[str, _Key] = {}

    def score_one(self, value: float, at: Instant = None, key: str = "") -> float:
        """The anomaly score of `value` (at `at`, for `key`), before learning it."""
        return self.look(value, at, key).score

    def learn_one(self, value: float, at: Instant = None, key: str = "") -> None:
        """Learn `value` (a tenth of the weight when it looked unusual)."""
        state = self.keys.get(key)
        if state is None:
            state = self.keys[key] = _Key()
        look = self.look(value, at, key)
        weight = UNUSUAL_WEIGHT if abs(look.z) >= self.learn_below else 1.0
        _learn(state, self._slot(at), float(value), weight, look, self.keep)

    def look(self, value: float, at: Instant = None, key: str = "") -> Look:
        """Score, surprise, signed z and expectation of `value` for `key` (no learning)."""
        state = self.keys.get(key)
        if state is None or state.seen < MIN_HISTORY:
            return Look(0.0, 0.0, 0.0, float(value))
        value = float(value)
        slot = self._slot(at)
        mean, sd = _expected(state, slot)
        counts = state.counts and value >= 0.0 and value.is_integer()
        if counts:
            spread = state.stats[3 * SLOTS + 6] / max(state.stats[3 * SLOTS + 7], 1e-9)
            z = count_deviance(value, max(mean, 1e-3), max(spread, 0.0))
        else:
            z = (value - mean) / sd
        window = _window_z(state, z, self.keep)
        s = surprise(max(abs(z), abs(window)), tests=4)
        return Look(score(s), s, z, mean)

    def _slot(self, at: Instant) -> int:
        if at is None:
            return -1
        moment = at if isinstance(at, datetime) else datetime.fromtimestamp(float(at), UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(self.zone)
        return 24 * (local.weekday() >= 5) + local.hour


def _expected(state: _Key, slot: int) -> tuple[float, float]:
    """Expected value and floored standard deviation for a slot (-1: no timestamps): the
    slot's own statistics shrunk towards its prior, the same hour on the other kind of day
    when that has values, else the key's overall level."""
    s = state.stats
    base = 3 * SLOTS
    mean, var, scale = s[base], s[base + 1], s[base + 3]
    if slot >= 0:
        twin = 3 * ((slot + 24) % SLOTS)
        if s[twin + 2] >= PRIOR_VALUES:
            mean, var = s[twin], s[twin + 1]
        n = s[3 * slot + 2]
        if n > 0:
            w = n / (n + PRIOR_VALUES)
            mean = w * s[3 * slot] + (1.0 - w) * mean
            var = w * s[3 * slot + 1] + (1.0 - w) * var
    floor = max(0.01 * abs(mean), 0.001 * scale, 1e-9)
    return mean, math.sqrt(max(var, 0.0) + floor * floor)


def _window_z(state: _Key, z: float, keep: float) -> float:
    """How unusual the recent window is if this value joins it: the decayed sum of residuals
    against its own running mean and spread (learned, so autocorrelated series, whose
    residuals come in runs, are not forever "shifting")."""
    s = state.stats
    base = 3 * SLOTS
    total = s[base + 4] * keep + max(min(z, 4.0), -4.0)
    if s[base + 10] < MIN_HISTORY:
        return 0.0
    return (total - s[base + 8]) / math.sqrt(s[base + 9] + 1.0)


def _learn(state: _Key, slot: int, value: float, weight: float, look: Look, keep: float) -> None:
    s = state.stats
    base = 3 * SLOTS
    s[base + 4] = window = s[base + 4] * keep + max(min(look.z, 4.0), -4.0)
    if weight == 1.0:
        _fold(s, base + 8, window, 1.0, LEVEL_CAP)
    if state.seen >= MIN_HISTORY:
        mu = max(look.expected, 1e-3)
        s[base + 6] = s[base + 6] * 0.99 + weight * ((value - mu) ** 2 - mu)
        s[base + 7] = s[base + 7] * 0.99 + weight * mu * mu
    if slot >= 0:
        _fold(s, 3 * slot, value, weight, SLOT_CAP)
    _fold(s, base, value, weight, LEVEL_CAP)
    s[base + 3] += (abs(value) - s[base + 3]) / min(state.seen + 1, LEVEL_CAP)
    state.counts = state.counts and value >= 0.0 and value.is_integer()
    state.seen += 1


def _fold(s: array[float], at: int, value: float, weight: float, cap: int) -> None:
    """Running mean and variance at `s[at]`, `s[at + 1]` with weight count `s[at + 2]`."""
    n = min(s[at + 2] + weight, cap)
    s[at + 2] = n
    a = weight / n
    diff = value - s[at]
    s[at] += a * diff
    s[at + 1] = (1.0 - a) * (s[at + 1] + a * diff * diff)
