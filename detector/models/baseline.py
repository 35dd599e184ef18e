"""An account's own normal: seasonal call level, usual shares, wobble, talk time, caller ids.

- **Seasonal level**: per slot (hour of the day in the account's timezone, weekday or
  weekend: 48 slots) the mean calls per bucket over the last `SLOT_CAP` buckets of that slot,
  shrunk towards a prior that counts for a day of the slot's own buckets, with a spread that
  says how sure it is, so a slot seen for weeks is judged tightly and an unseen one loosely.
  The prior of an unseen or rarely seen slot is the nearest hour of the same kind of day that
  has history, else the same hour on the other kind of day, scaled by the segment's hour
  profile, else the account's overall level shaped by that profile (`Segments`).
- **Shares** of the seven judged parts (and of answered and outbound calls, parents of some
  of them), as slowly decaying sums of counts and parents, shrunk towards the segment's share.
- **Wobble** (overdispersion): how much more than pure chance the account varies, per
  feature, from running moment sums, shrunk towards the segment's; the higher it is the more
  a deviation must grow before it surprises, which is what makes a huge account's normal
  day-to-day swings unremarkable while a 3-call account's 40 calls are not.
- **Talk time**: a running log-normal fit of answered calls' talk; its 90th percentile is the
  account's "long call".
- **Known callers**: a 512-bit set of outbound caller ids and trunks (`features.py`).

What looked normal is learned with full weight, what was unusual with a tenth (the scorer
decides per feature, `learning.py`), so an anomaly is not absorbed and a repeat of it is
judged against nearly the same baseline. State is a few flat arrays pickled as bytes: about
700 bytes per account.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from detector.models.features import CALLER_BITS, N_FEATURES, N_SHARES

SLOTS = 48
"""Hour of the day × weekday/weekend."""

SLOT_CAP = 40
"""A slot's mean weighs its last ~40 buckets (10 weekdays of a 1-hour slot at 15 minutes);
the first ones are averaged exactly."""

SHARE_DECAY = 1.0 / 500.0
"""Share and wobble sums fade by this much per learned bucket with calls (~500 buckets)."""

LEVEL_CAP = 96 * 7
"""The account's overall level is a mean over its last ~week of buckets."""

TALK_CAP = 1000
"""The talk-time fit weighs about the last 1,000 answered calls."""

NEIGHBOURS = (-1, 1, -2, 2)
"""Hours next to a slot, nearest first, whose history makes its prior (same kind of day)."""

MIN_PRIOR_BUCKETS = 4
"""Buckets a slot needs before it serves as another slot's prior."""

PRIOR_WOBBLE = 1.0
"""Squared relative error a slot's prior may have: a neighbouring hour, the other kind of day
or the account's level shaped by its segment can be off severalfold (the first Saturday of a
round-the-clock carrier, the morning ramp of a dialer), so an unseen slot is judged loosely
until its own days accumulate; a prior of nearly nothing (a night) still makes a burst
extreme."""

LONG_Z = 1.2816
"""Standard normal 90th percentile: a long call is beyond the log-normal fit's 90 %."""

MIN_TALK_CALLS = 20
"""Answered calls with talk before "long" means anything."""


@dataclass(slots=True)
class Baseline:
    """Per-account learned normal; see the module docstring."""

    slot_mean: array[float]
    slot_n: bytearray
    shares: array[float]
    """Decayed sums: counts of each share (N_SHARES), then their parents (N_SHARES)."""
    wobble: array[float]
    """Decayed moment sums: excess variance (N_FEATURES), then its scale (N_FEATURES)."""
    misc: array[float]
    """level mean, level count, log-talk mean, log-talk variance, talk count, long call
    seconds (cached: read per CDR)."""
    callers: bytearray

    @classmethod
    def empty(cls) -> Baseline:
        """A baseline that has learned nothing."""
        return cls(
            array("f", bytes(4 * SLOTS)),
            bytearray(SLOTS),
            array("f", bytes(8 * N_SHARES)),
            array("f", bytes(8 * N_FEATURES)),
            array("f", [0.0, 0.0, 0.0, 0.0, 0.0, math.inf]),
            bytearray(CALLER_BITS // 8),
        )

    def __getstate__(self) -> tuple[bytes, ...]:
        """Pickle as byte strings (no field names, no array headers): keeps state small."""
        return (
            self.slot_mean.tobytes() + self.shares.tobytes() + self.wobble.tobytes()
            + self.misc.tobytes(),
            bytes(self.slot_n),
            bytes(self.callers),
        )  # fmt: skip

    def __setstate__(self, state: tuple[bytes, ...]) -> None:
        """Inverse of `__getstate__`; another layout (an older release's) loads empty."""
        if len(state) != 3:
            state = Baseline.empty().__getstate__()
        floats, slot_n, callers = state
        cut = (4 * SLOTS, 4 * SLOTS + 8 * N_SHARES, 4 * SLOTS + 8 * N_SHARES + 8 * N_FEATURES)
        self.slot_mean = array("f", floats[: cut[0]])
        self.shares = array("f", floats[cut[0] : cut[1]])
        self.wobble = array("f", floats[cut[1] : cut[2]])
        self.misc = array("f", floats[cut[2] :])
        self.slot_n = bytearray(slot_n)
        self.callers = bytearray(callers)

    # --- seasonal level -------------------------------------------------------------------

    @property
    def level(self) -> float:
        """Mean calls per bucket over recent buckets (all slots)."""
        return float(self.misc[0])

    @property
    def level_count(self) -> int:
        """Buckets the level has seen (saturates at `LEVEL_CAP`)."""
        return int(self.misc[1])

    def slot_prior(self, slot: int, profile: array[float]) -> float:
        """Expected calls per bucket in `slot` before the slot's own history: the nearest
        hour of the same kind of day that has history, else the same hour on the other kind
        of day, each scaled by the segment's hour profile; else the level shaped by it.

        While the slot has (almost) no history of its own, the same hour of the other kind of
        day is also an upper reference, never scaled *down*: how much an account works at
        weekends varies from nothing to everything within a segment (closed offices next to
        round-the-clock carriers), so neither the segment's average weekend nor the account's
        own quiet Saturday dawn says how its first Saturday morning will go. Until then only
        more than its weekday hour is judged unusual (the model alerts on excesses). Tuned on
        model worlds 3 and 4 (150 accounts x 7 days), where 63 of world 3's 88 false alerts
        were first-Saturday hours judged against a segment weekend twenty times quieter than
        the account's own weekdays: 88 -> 11 and 47 -> 17 false alerts. The price: a burst
        in a first weekend's hour must beat the weekdays' level, not the weekend's.
        """
        day, hour = slot - slot % 24, slot % 24
        same: float | None = None
        for other in [day + (hour + step) % 24 for step in NEIGHBOURS]:
            if self.slot_n[other] >= MIN_PRIOR_BUCKETS:
                ratio = min(max(profile[slot] / max(profile[other], 1e-3), 0.05), 20.0)
                same = float(self.slot_mean[other]) * ratio
                break
        twin = (slot + 24) % SLOTS
        if self.slot_n[twin] < MIN_PRIOR_BUCKETS:
            return same if same is not None else self.level * float(profile[slot])
        ratio = min(max(profile[slot] / max(profile[twin], 1e-3), 1.0), 20.0)
        upper = float(self.slot_mean[twin]) * ratio
        if same is None:
            return upper
        return max(same, upper) if self.slot_n[slot] < MIN_PRIOR_BUCKETS else same

    def expected(
        self, slot: int, profile: array[float], prior_buckets: float, day_wobble: float
    ) -> tuple[float, float, float, float]:
        """Expected calls in a bucket of `slot`, and the parts of its spread (squared relative
        uncertainty): what the prior may be off by, the estimate's Poisson noise, the days.

        The slot's own mean shrunk towards its prior, which counts for `prior_buckets` of the
        slot's own buckets (one day's worth by default). The spread adds what the prior may
        be off by (severalfold, fading as the slot's own days accumulate), the day-to-day wobble
        over the days the slot has seen (`day_wobble`: one unusual first day must not make
        the next ordinary one look extreme) and the Poisson noise of the estimate.
        """
        m0 = max(self.slot_prior(slot, profile), 0.01 * self.level, 1e-4)
        n = float(self.slot_n[slot])
        own = n * float(self.slot_mean[slot])
        k = prior_buckets
        mu = (own + k * m0) / (n + k)
        lean = k / (n + k)
        poisson = 1.0 / (own + k * m0 + 1.0)
        return mu, PRIOR_WOBBLE * lean * lean, poisson, day_wobble * k / max(n, k)

    def learn_level(self, slot: int, calls: float, weight: float = 1.0) -> None:
        """Fold one bucket's calls into its slot and the overall level; `weight` < 1 for an
        unusual bucket (it moves the mean that much less and does not count as a bucket)."""
        if weight >= 1.0:
            n = min(self.slot_n[slot] + 1, SLOT_CAP)
            self.slot_n[slot] = n
            self.slot_mean[slot] += (calls - self.slot_mean[slot]) / n
        elif self.slot_n[slot]:
            n_eff = self.slot_n[slot] + weight
            self.slot_mean[slot] += weight * (calls - self.slot_mean[slot]) / n_eff
        self.quiet_level(calls, weight)

    def rescale(self, ratio: float) -> None:
        """A lasting change of level: every slot's and the overall level times `ratio`."""
        for s in range(SLOTS):
            self.slot_mean[s] *= ratio
        self.misc[0] *= ratio

    def quiet_level(self, calls: float, weight: float = 1.0) -> None:
        """Fold a bucket into the overall level only (with `weight`, as `learn_level`)."""
        misc = self.misc
        if weight >= 1.0:
            misc[1] = count = min(misc[1] + 1.0, LEVEL_CAP)
            misc[0] += (calls - misc[0]) / count
        elif misc[1]:
            misc[0] += weight * (calls - misc[0]) / (misc[1] + weight)

    # --- shares -----------------------------------------------------------------------------

    def share(self, i: int, prior: float, strength: float) -> tuple[float, float]:
        """Usual share `i` (shrunk towards the segment's `prior`) and its weight in parents."""
        weight = strength + float(self.shares[N_SHARES + i])
        return (strength * prior + float(self.shares[i])) / weight, weight

    def learn_share(self, i: int, count: float, parent: float, weight: float = 1.0) -> None:
        """Fold one bucket's count and parent into share `i` (sums fade by SHARE_DECAY)."""
        keep = 1.0 - SHARE_DECAY
        sums = self.shares
        sums[i] = sums[i] * keep + weight * count
        sums[N_SHARES + i] = sums[N_SHARES + i] * keep + weight * parent

    # --- wobble -----------------------------------------------------------------------------

    def wobble_of(self, f: int, prior: float, strength: float) -> float:
        """Feature `f`'s overdispersion, shrunk towards the segment's `prior`."""
        w = self.wobble
        value = (float(w[f]) + strength * prior) / (float(w[N_FEATURES + f]) + strength)
        return min(max(value, 0.0), 4.0)

    def learn_wobble(self, f: int, excess: float, scale: float, weight: float = 1.0) -> None:
        """Fold one bucket's excess variance and its scale into feature `f`'s wobble."""
        keep = 1.0 - SHARE_DECAY
        w = self.wobble
        w[f] = w[f] * keep + weight * excess
        w[N_FEATURES + f] = w[N_FEATURES + f] * keep + weight * scale

    # --- talk time --------------------------------------------------------------------------

    def long_s(self) -> float:
        """Talk seconds beyond which an answered call is long for this account (inf until
        `MIN_TALK_CALLS` answered calls were learned)."""
        return float(self.misc[5])

    def usual_talk_s(self) -> float:
        """Median talk of answered calls (the fit's), 0 before any."""
        return math.exp(self.misc[2]) if self.misc[4] else 0.0

    def learn_talk(self, calls: int, log_sum: float, log_sq: float, weight: float = 1.0) -> None:
        """Fold a bucket's answered calls' log-talk sums into the running fit."""
        if calls <= 0:
            return
        misc = self.misc
        count = min(misc[4] + weight * calls, TALK_CAP)
        w = weight * calls / count
        mean = log_sum / calls
        var = max(log_sq / calls - mean * mean, 0.0)
        diff = mean - misc[2]
        misc[3] = (1.0 - w) * (misc[3] + w * diff * diff) + w * var
        misc[2] += w * diff
        misc[4] = count
        if count >= MIN_TALK_CALLS:
            misc[5] = math.exp(misc[2] + LONG_Z * math.sqrt(max(misc[3], 0.0)))
