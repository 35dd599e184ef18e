"""The anomaly model's settings as one frozen value (read from `rules/_models.yaml` by
`detector.models.loader`; every field has the default that file documents)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from detector.models.features import KEYS
from detector.models.segments import Banding


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Surprise levels (-log10 of a bucket's tail probability, features Bonferroni-corrected)."""

    warning: float = 6.5
    """An unusual bucket: one in three million for an account behaving as it always did."""
    critical: float = 10.0
    immediate: float = 9.0
    """Reported without waiting for a second unusual bucket, and already at the early look."""
    immediate_excess: float = 5.0
    """...when its most unusual feature is at least this many events above its expectation
    (new caller ids excepted: each is new once), or another bucket within the recent window
    looked unusual too. Else it must persist like any unusual bucket: five calls where 0.01
    were expected are one in a trillion by chance, and once are still less than anyone acts
    on (the simulator's analyst lines start at ten calls a night)."""


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """The daily CUSUM (`drift.py`): reference k and threshold h in standard deviations."""

    reference: float = 1.0
    threshold: float = 5.0
    min_wobble: float = 0.1
    """A day's total is never assumed steadier than ±10 % (huge accounts' Poisson noise is
    tiny, their days are not)."""
    cap: float = 4.0
    """Most one day adds to the CUSUM (before the reference is subtracted)."""
    min_expected: float = 1.0
    """A feature expecting fewer counts a day is not tested for drift."""


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Settings of the anomaly model; validated by the loader, frozen here."""

    bucket: timedelta = timedelta(minutes=15)
    horizon: timedelta = timedelta(hours=3)
    """How long after a bucket ends (on the detector's watermark) it stays open for records
    of calls that started in it (every ordinary call has ended within 3 h). A bucket is judged
    for good (and learned) only then; an early look at its end reports only extreme anomalies.
    A record later than that joins the oldest bucket still open."""
    warmup: timedelta = timedelta(days=2)
    """History an account needs (from its first call) before the model may alert on it."""
    features: frozenset[str] = frozenset(KEYS)
    thresholds: Thresholds = field(default_factory=Thresholds)
    segment_thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    window: timedelta = timedelta(hours=2)
    """Mean age of the recent window (decayed sums of the last buckets): a few calls at an
    hour that has none, or a trickle of international calls, add up over it."""
    persist_buckets: int = 2
    """Unusual buckets in a row before a finding (unless one is beyond `immediate`)."""
    learn_below: float = 2.0
    """A feature deviating by this many standard deviations (upper tail) in a bucket is not
    learned from it (nor while its drift statistic is above half its threshold)."""
    drift: DriftConfig = field(default_factory=DriftConfig)
    prior_strength: float = 1.0
    """Days of a slot's own buckets its prior counts for (its other kind of day, or the
    account's level shaped by the segment's hour profile)."""
    unusual_weight: float = 0.1
    """Weight with which a feature unusual in a bucket (or drifting) is still learned: a
    one-off barely moves the normal, its repeat is judged against nearly the same normal, and
    a lasting change is absorbed over days instead of alerting forever."""
    share_strength: float = 20.0
    """Parent calls the segment's usual share counts for in an account's share."""
    wobble_strength: float = 50.0
    """Weight (in squared expected calls) of the segment's wobble in an account's."""
    banding: Banding = field(default_factory=Banding)
    timezone: str = "Asia/Kolkata"
    """Local time of the accounts' seasonal slots: the rule set's `timezone`..."""
    timezones: Mapping[str, str] = field(default_factory=dict)
    """...and its per-account `timezones`, so the model and the rules share local hours."""
    home_country: str = "IN"
    max_gap: timedelta = timedelta(days=7)
    """Quiet buckets learned as zeros after a silence are capped at this much."""
    disabled: frozenset[str] = frozenset()
    """Accounts the model never looks at (per-account opt-out)."""
    shadow: bool = False
    """Record the model's alerts without notifying."""

    @property
    def bucket_s(self) -> int:
        """Bucket length in seconds."""
        return int(self.bucket.total_seconds())

    def thresholds_of(self, segment: str) -> Thresholds:
        """The thresholds of a segment (its own when configured)."""
        return self.segment_thresholds.get(segment, self.thresholds)
