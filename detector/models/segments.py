"""Segments: what similar accounts teach an account that has not seen enough of itself yet.

Accounts are grouped by size band (calls per day: under 100, 100–1,000, over 1,000 by
default) or by a configured tier (`segments.tiers` in `_models.yaml`). Each segment learns,
from its accounts' buckets judged normal:
- an hour profile: calls per bucket in each of the 48 slots relative to the account's own
  overall level (mean 1 over a week), the fallback for a slot the account has not seen
  (e.g. its first weekend night);
- the usual shares (unanswered, international, ...), the prior of a new account's shares;
- the bucket and day wobble (overdispersion) of each feature, the prior of an account with
  little history.
A segment is shared state (one per segment, not per account), pickled with the model.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

from detector.models.baseline import SLOTS
from detector.models.features import N_FEATURES, N_SHARES

GLOBAL_DECAY = 1.0 / 20000.0
"""Segment sums fade by this much per update (many accounts feed them)."""

PROFILE_CAP = 5000
"""A segment's hour profile weighs about the last 5,000 buckets of each slot."""

DEFAULT_SHARES = (0.3, 0.05, 0.1, 0.1, 0.02, 0.01, 0.01, 0.5, 0.7)
"""Share priors before a segment has learned any: unanswered, failed, short, long,
international, premium/invalid, new caller, then answered and outbound."""

DEFAULT_WOBBLE = (0.1, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01)
"""Bucket wobble priors: calls (a 30 % swing is ordinary), then shares (beta-binomial ρ)."""

DEFAULT_DAY_WOBBLE = 0.05
"""Day wobble prior for every feature: a day's total swings by about 22 %."""

_PRIOR_WEIGHT = 1.0
"""Weight of the defaults inside a segment's sums (they vanish as soon as it learns)."""


@dataclass(slots=True)
class Segment:
    """One segment's learned priors (see the module docstring)."""

    profile: array[float] = field(default_factory=lambda: array("f", [1.0] * SLOTS))
    profile_n: array[float] = field(default_factory=lambda: array("f", bytes(4 * SLOTS)))
    shares: array[float] = field(
        default_factory=lambda: array("f", [*DEFAULT_SHARES, *([1.0] * N_SHARES)])
    )
    wobble: array[float] = field(
        default_factory=lambda: array("f", [*DEFAULT_WOBBLE, *([_PRIOR_WEIGHT] * N_FEATURES)])
    )
    day_wobble: array[float] = field(
        default_factory=lambda: array(
            "f", [DEFAULT_DAY_WOBBLE] * N_FEATURES + [_PRIOR_WEIGHT] * N_FEATURES
        )
    )

    def share(self, i: int) -> float:
        """The segment's usual share `i`."""
        return float(self.shares[i] / self.shares[N_SHARES + i])

    def bucket_wobble(self, f: int) -> float:
        """The segment's bucket wobble of feature `f`."""
        return float(max(self.wobble[f] / self.wobble[N_FEATURES + f], 0.0))

    def day_wobble_of(self, f: int) -> float:
        """The segment's day wobble of feature `f`."""
        return float(max(self.day_wobble[f] / self.day_wobble[N_FEATURES + f], 0.0))

    def learn_slot(self, slot: int, relative: float) -> None:
        """Fold one account bucket's calls relative to its level into the hour profile."""
        n = min(self.profile_n[slot] + 1.0, PROFILE_CAP)
        self.profile_n[slot] = n
        self.profile[slot] += (relative - self.profile[slot]) / n

    def learn_share(self, i: int, count: float, parent: float, weight: float = 1.0) -> None:
        """Fold one account bucket's count and parent into share `i`."""
        _fold(self.shares, i, N_SHARES, weight * count, weight * parent)

    def learn_wobble(self, f: int, excess: float, scale: float, weight: float = 1.0) -> None:
        """Fold one account bucket's excess variance into feature `f`'s bucket wobble."""
        _fold(self.wobble, f, N_FEATURES, weight * excess, weight * scale)

    def learn_day_wobble(self, f: int, excess: float, scale: float, weight: float = 1.0) -> None:
        """Fold one account day's excess variance into feature `f`'s day wobble."""
        _fold(self.day_wobble, f, N_FEATURES, weight * excess, weight * scale)


def _fold(sums: array[float], i: int, stride: int, value: float, weight: float) -> None:
    keep = 1.0 - GLOBAL_DECAY
    sums[i] = sums[i] * keep + value
    sums[stride + i] = sums[stride + i] * keep + weight


@dataclass(frozen=True, slots=True)
class Banding:
    """Which segment an account belongs to: its configured tier, else its size band."""

    bounds: tuple[float, ...] = (100.0, 1000.0)
    """Calls per day separating the size bands."""
    names: tuple[str, ...] = ("under 100/day", "100-1,000/day", "over 1,000/day")
    tiers: Mapping[str, str] = field(default_factory=dict)
    """Account → tier name (a segment of its own, whatever the account's size)."""

    def of(self, account: str, calls_per_day: float) -> str:
        """The segment name of an account.

        >>> b = Banding(tiers={"MA_vip": "vip"})
        >>> b.of("MA_1", 40.0), b.of("MA_1", 5000.0), b.of("MA_vip", 40.0)
        ('under 100/day', 'over 1,000/day', 'vip')
        """
        tier = self.tiers.get(account) if self.tiers else None
        if tier is not None:
            return tier
        for bound, name in zip(self.bounds, self.names, strict=False):
            if calls_per_day < bound:
                return name
        return self.names[len(self.bounds)]


def band_names(bounds: tuple[float, ...]) -> tuple[str, ...]:
    """Readable names of the size bands cut at `bounds` (calls per day).

    >>> band_names((100.0, 1000.0))
    ('under 100/day', '100-1,000/day', 'over 1,000/day')
    """
    if not bounds:
        return ("all",)
    names = [f"under {bounds[0]:,.0f}/day"]
    names += [f"{lo:,.0f}-{hi:,.0f}/day" for lo, hi in itertools.pairwise(bounds)]
    names.append(f"over {bounds[-1]:,.0f}/day")
    return tuple(names)
