"""Drift: a one-sided CUSUM per feature over an account's daily totals, so ramps over days
that never make one bucket unusual still add up to an alert.

Each judged bucket adds its observed count and its expectation (from the baseline as it
stood) to the account's running day (local midnight to midnight), feature by feature, unless
the feature was unusual in that bucket (the bucket and window judgements report those): drift
is what adds up from buckets that each looked normal. When the day ends, its
total becomes a deviance residual D against the day's expectation, with the account's
day-to-day wobble (overdispersion of whole days, learned from its normal days and shrunk
towards its segment's, never below `min_wobble`), and the CUSUM moves:
S = max(0, S + min(D, cap) − k). The cap keeps one extraordinary day from making a drift on
its own (that is the bucket judgement's job). Once half of the day's expected calls are in,
the running total is checked too (S + min(D_so_far, cap) − k), so a ramp alerts during the
day it crosses `h`, not after midnight. While S is above h/2 (for a part, also while S with
the running day so far is: `day.drifting`) the scorer stops learning that feature (no
absorption of a ramp into the reference); after an alert S restarts and the
feature does not alert again that day. Features expecting fewer than `min_expected` counts
a day are not tested for drift: a rate that low cannot be told from chance within days.

Why days: a busy account's buckets within one day share that day's mood (a campaign, a
holiday); a CUSUM over buckets would add up 60 slightly-high buckets of an ordinary busy day.
Whole days are nearly independent, and their wobble is measured directly.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from detector.models.counts import count_deviance
from detector.models.features import N_FEATURES

DAY_DECAY = 1.0 / 14.0
"""Day-wobble sums fade by this much per learned day (about two weeks of days)."""
_RUN = 1
"""Offset after the windows of the run of unusual calls: observed, expected, buckets, and
whether the model reported it."""
_ESTIMATE = _RUN + 4
"""Offset of the running day's expectation error sums (correlated, independent)."""
_DAYS = _ESTIMATE + 2
"""Offset of the running day's calls (every bucket's) and kind (1 weekend, +2 complete),
then per kind (weekday, weekend) the peak of recent day totals and their trough (+1; 0 while
no complete day of that kind was seen)."""
_ON_DAY = _DAYS + 6
"""Offset of the on-day level's sums (`on_day`): the local day they are for, its
calls so far (an unusual bucket's shrunk) and expected calls so far, as buckets end (the
early look's pace, not the final judgement's), the last local day reported for its level,
its calls as they came, and its expectation error sum (as `_ESTIMATE`'s correlated one)."""
_LEARNED = _ON_DAY + 6
"""Offset of the decayed count of days the calls' day wobble was learned from."""
_SIZE = 8 * N_FEATURES + _LEARNED + 1
"""Floats of the running sums."""
PEAK_KEEP = 0.9
"""Recent peak and trough day totals fade towards each other by 10 % a day of their kind: a
campaign pattern is forgotten over a few weeks without one (three days off keep 73 %)."""


@dataclass(slots=True)
class Drift:
    """Per-account running day and CUSUM per feature."""

    day: int = -1
    """Local day number (days since the epoch in the account's timezone) being summed."""
    sums: array[float] | None = None
    """observed (N_FEATURES), expected (N_FEATURES), CUSUM (N_FEATURES), day wobble
    moment sums (2 × N_FEATURES), alerted today (N_FEATURES, 0/1), the day's expected calls,
    then the recent window's decayed observed and expected counts (2 × N_FEATURES), then the
    current run of unusually many calls (observed, expected, buckets)."""
    days: int = 0
    """Whole days closed."""

    def __getstate__(self) -> tuple[int, bytes, int]:
        """Pickle compactly (the arrays as raw bytes)."""
        return self.day, self._arrays().tobytes(), self.days

    def __setstate__(self, state: tuple[int, bytes, int]) -> None:
        """Inverse of `__getstate__` (a shorter array from an earlier layout is padded)."""
        self.day, raw, self.days = state
        self.sums = array("f", raw)
        missing = _SIZE - len(self.sums)
        if missing > 0:
            self.sums.extend([0.0] * missing)

    def _arrays(self) -> array[float]:
        if self.sums is None:
            self.sums = array("f", bytes(4 * _SIZE))
        return self.sums

    def add(self, f: int, observed: float, expected: float) -> None:
        """Add one bucket's count and expectation of feature `f` to the running day."""
        sums = self._arrays()
        sums[f] += observed
        sums[N_FEATURES + f] += expected

    def totals(self, f: int) -> tuple[float, float]:
        """The running day's observed and expected totals of feature `f`."""
        sums = self._arrays()
        return float(sums[f]), float(sums[N_FEATURES + f])

    def cusum(self, f: int) -> float:
        """Feature `f`'s CUSUM as of the last closed day."""
        return float(self._arrays()[2 * N_FEATURES + f])

    def wobble(self, f: int, prior: float, strength: float, floor: float) -> float:
        """Feature `f`'s day-to-day wobble (NB spread of a day's total), shrunk and floored."""
        sums = self._arrays()
        num = float(sums[3 * N_FEATURES + f]) + strength * prior
        den = float(sums[4 * N_FEATURES + f]) + strength
        return min(max(num / den, floor), 4.0)

    def wobble_days(self, strength: float) -> float:
        """How many days the calls' day wobble rests on: the decayed count of days it was
        learned from, and the prior's `strength` in squared expected calls of the running
        day."""
        sums = self._arrays()
        day = max(float(sums[6 * N_FEATURES]), 1.0)
        return float(sums[8 * N_FEATURES + _LEARNED]) + strength / (day * day)

    def slide(self, f: int, observed: float, expected: float, keep: float) -> tuple[float, float]:
        """Move feature `f`'s recent window on by one bucket (older buckets fade by `keep`);
        the window's observed and expected counts."""
        sums = self._arrays()
        o, e = 6 * N_FEATURES + 1 + f, 7 * N_FEATURES + 1 + f
        sums[o] = sums[o] * keep + observed
        sums[e] = sums[e] * keep + expected
        return float(sums[o]), float(sums[e])

    def fade(self, keep: float, expected_calls: float) -> None:
        """Move every feature's recent window on by a quiet bucket: nothing observed, only
        `expected_calls` calls expected (what `slide` does per feature, in one pass)."""
        sums = self._arrays()
        start = 6 * N_FEATURES + 1
        for i in range(start, start + 2 * N_FEATURES):
            sums[i] = sums[i] * keep
        e = 7 * N_FEATURES + 1
        sums[e] = sums[e] * keep + expected_calls

    def run(self, unusual: bool, observed: float, expected: float) -> tuple[float, float, int]:
        """Extend (or, when `unusual` is false, end) the run of buckets with unusually many
        calls; the run's observed and expected calls and its length."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _RUN
        if not unusual:
            sums[at] = sums[at + 1] = sums[at + 2] = sums[at + 3] = 0.0
            return 0.0, 0.0, 0
        sums[at] += observed
        sums[at + 1] += expected
        sums[at + 2] += 1.0
        return float(sums[at]), float(sums[at + 1]), int(sums[at + 2])

    def run_reported(self, mark: bool = False) -> bool:
        """Whether the current run was reported (set it with `mark`)."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _RUN + 3
        if mark:
            sums[at] = 1.0
        return bool(sums[at])

    def add_estimate(self, expected: float, prior: float, noise: float) -> None:
        """Add one bucket's expectation error: `prior` (correlated over the day: all slots
        lean on the same priors) and `noise` (independent between slots), both squared
        relative errors."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _ESTIMATE
        sums[at] += expected * math.sqrt(prior)
        sums[at + 1] += expected * expected * noise

    def estimate(self) -> float:
        """How uncertain the running day's expected calls are (squared relative error)."""
        sums = self._arrays()
        expected = float(sums[N_FEATURES])
        if expected <= 0.0:
            return 0.0
        at = 8 * N_FEATURES + _ESTIMATE
        return (float(sums[at]) ** 2 + float(sums[at + 1])) / (expected * expected)

    def full_day(self) -> float:
        """Calls the whole running day is expected to bring (set by `start_day`)."""
        return float(self._arrays()[6 * N_FEATURES])

    def alerted(self, f: int) -> bool:
        """Whether feature `f` alerted during the running day."""
        return bool(self._arrays()[5 * N_FEATURES + f])

    def running(self, f: int, wobble: float, reference: float, cap: float) -> float:
        """The CUSUM as it would stand if the day ended now: S + min(D_so_far, cap) − k."""
        observed, expected = self.totals(f)
        return self.cusum(f) + min(count_deviance(observed, expected, wobble), cap) - reference

    def close_day(self, f: int, wobble: float, reference: float, cap: float) -> float:
        """End the day for feature `f`: move its CUSUM by min(D, cap) − k (from zero again
        when it alerted during the day); return the day's residual D."""
        sums = self._arrays()
        observed, expected = self.totals(f)
        d = count_deviance(observed, expected, wobble)
        s = 2 * N_FEATURES + f
        if sums[5 * N_FEATURES + f]:
            sums[s] = 0.0
        else:
            sums[s] = max(0.0, sums[s] + min(d, cap) - reference)
        return d

    def learn_day(self, f: int, excess: float) -> None:
        """Fold the running day of feature `f` into its day wobble: `excess` is the day's
        squared deviation beyond Poisson noise (winsorized by the caller)."""
        sums = self._arrays()
        _, expected = self.totals(f)
        keep = 1.0 - DAY_DECAY
        num, den = 3 * N_FEATURES + f, 4 * N_FEATURES + f
        sums[num] = sums[num] * keep + excess
        sums[den] = sums[den] * keep + expected * expected
        if f == 0:
            at = 8 * N_FEATURES + _LEARNED
            sums[at] = sums[at] * keep + 1.0

    def count_day(self, calls: float) -> None:
        """Add one bucket's calls to the running day's total (unusual buckets included)."""
        self._arrays()[8 * N_FEATURES + _DAYS] += calls

    def swing(self) -> tuple[float, float]:
        """Peak and trough of recent day totals of the running day's kind (weekday or
        weekend); the trough is -1 until a complete day of that kind was seen."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _DAYS + 2 + 2 * (int(sums[8 * N_FEATURES + _DAYS + 1]) & 1)
        return float(sums[at]), float(sums[at + 1]) - 1.0

    def _fold_day(self) -> None:
        """The running day ends: its total raises its kind's peak; a complete day (the
        account's first, partly seen day is not) lowers the trough."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _DAYS
        total, flags = float(sums[at]), int(sums[at + 1])
        kind = at + 2 + 2 * (flags & 1)
        sums[kind] = max(total, sums[kind] * PEAK_KEEP)
        if flags & 2:
            trough = float(sums[kind + 1]) - 1.0
            sums[kind + 1] = 1.0 + (total if trough < 0.0 else min(total, trough / PEAK_KEEP))

    def start_day(
        self, day: int, full_day: float, weekend: bool = False, complete: bool = False
    ) -> None:
        """Clear the running sums for a new day expected to bring `full_day` calls (the day
        that ends moves its kind's peak and trough); `complete`: the account was seen before
        the new day began."""
        sums = self._arrays()
        if self.day >= 0:
            self._fold_day()
        at = 8 * N_FEATURES + _DAYS
        sums[at], sums[at + 1] = 0.0, float(weekend) + 2.0 * complete
        for f in range(2 * N_FEATURES):
            sums[f] = 0.0
        for f in range(N_FEATURES):
            sums[5 * N_FEATURES + f] = 0.0
        sums[6 * N_FEATURES] = full_day
        sums[8 * N_FEATURES + _ESTIMATE] = sums[8 * N_FEATURES + _ESTIMATE + 1] = 0.0
        self.day = day

    def on_day(self, day: int, strength: float) -> float:
        """The on-day level of local day `day` so far: its calls against its expected calls,
        the ratio shrunk towards 1 by `strength` expected calls (the sums restart at a new
        day)."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _ON_DAY
        if sums[at] != day:
            sums[at] = float(day)
            sums[at + 1] = sums[at + 2] = sums[at + 4] = sums[at + 5] = 0.0
        return (strength + float(sums[at + 1])) / (strength + float(sums[at + 2]))

    def add_on_day(self, calls: float, level: float, expected: float, prior: float) -> None:
        """Add a bucket to the on-day sums: its `calls`, the calls it adds to the level (an
        unusual bucket's shrunk), its expected calls and their squared relative error."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _ON_DAY
        sums[at + 1] += level
        sums[at + 2] += expected
        sums[at + 4] += calls
        sums[at + 5] += expected * math.sqrt(prior)

    def on_day_totals(self) -> tuple[float, float, float]:
        """The on-day calls and expected calls so far, and how uncertain that expectation is
        (squared relative error)."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _ON_DAY
        expected = float(sums[at + 2])
        error = (float(sums[at + 5]) / expected) ** 2 if expected > 0.0 else 0.0
        return float(sums[at + 4]), expected, error

    def day_reported(self, day: int | None = None, *, mark: bool = False) -> bool:
        """Whether local day `day` (default: the on-day sums' day) was reported for its level
        (`mark`: the on-day sums' day was)."""
        sums = self._arrays()
        at = 8 * N_FEATURES + _ON_DAY
        if mark:
            sums[at + 3] = sums[at] + 1.0
        return bool(sums[at + 3] == (sums[at] if day is None else day) + 1.0)

    def alert(self, f: int) -> None:
        """Feature `f` alerted: its CUSUM restarts, and it does not alert again today."""
        sums = self._arrays()
        sums[2 * N_FEATURES + f] = 0.0
        sums[5 * N_FEATURES + f] = 1.0
