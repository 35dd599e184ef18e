"""The frame the anomaly model judges in, and one account's walk through its buckets.

`Frame` holds the model's settings counted in buckets (read once from `ModelConfig`), the
accounts' time zones and the segments' shared priors (the model's global state: `Frame` owns
it, `AnomalyModel` saves and restores it). `Walk` is one account's turn as event time
advances: the frame, the account, its state and the findings so far, and what the frame says
about the account at one bucket (its local day and seasonal slot, its segment and thresholds,
whether it is past its warm-up, the `Context` its judgements read).

The model's steps are plain functions of a walk: the early look (`look.py`), the final
judgement (`judgement.py`) and the account's local day (`day.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detector.domain import Finding
from detector.models.account import AccountModelState
from detector.models.baseline import Baseline
from detector.models.config import ModelConfig, Thresholds
from detector.models.counts import z_of
from detector.models.features import KEYS
from detector.models.judge import Context
from detector.models.segments import Segment
from detector.windows.clock import Zones
from detector.windows.seasonal import WEEKEND_START, hour_of_week

MIN_HISTORY_BUCKETS = 4
"""Learned buckets an account needs before any judgement, whatever `warmup` says: with none
the model would judge a first bucket against nothing (3 calls where 0.006 are expected)."""

DAY_WOBBLE_STRENGTH = 100.0
"""Weight (in squared expected calls per day) of the segment's day wobble in an account's."""

BUSY_RATIO = 3.0
BUSY_FLOOR = 10.0
"""An account's days swing between busy and quiet ones (dialer campaigns on and off) when
its recent peak day of a kind brought `BUSY_RATIO` times its recent trough day or more (a
trough of fewer than `BUSY_FLOOR` calls counts as that many: a small account's chance
swings are not campaigns); its calls are then judged against its busy days."""


class Frame:
    """The model's settings in buckets, the accounts' zones and the segments' priors."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.zones = Zones(config.timezone, config.timezones)
        self.bucket_s = config.bucket_s
        self.horizon = math.ceil(config.horizon.total_seconds() / self.bucket_s)
        """Buckets a bucket stays open after its end (long calls' records are still due)."""
        self.warmup = int(config.warmup.total_seconds()) // self.bucket_s
        self.max_gap = max(int(config.max_gap.total_seconds()) // self.bucket_s, 1)
        self.per_day = 86400.0 / self.bucket_s
        self.per_slot = 3600.0 / self.bucket_s
        """Buckets of one slot in a day: they share the slot's estimate, so its error."""
        self.enabled = tuple(key in config.features for key in KEYS)
        self.half_drift = config.drift.threshold / 2.0
        self.swing_z = z_of(config.thresholds.warning)
        self.keep = 1.0 - config.bucket / config.window
        self.window_buckets = max(1, round(config.window / config.bucket))
        """Buckets the recent window spans (its mean age)."""
        self.segments: dict[str, Segment] = {}
        """The segments' shared priors by name, learned from all their accounts."""

    def local_hour(self, account: str, index: int) -> int:
        """The account's local hour (hours since the epoch) at the start of bucket `index`."""
        return self.zones.of(account).local_hour(index * self.bucket_s)

    def segment(self, name: str) -> Segment:
        """The segment called `name`, new (empty priors) the first time it is asked for."""
        segment = self.segments.get(name)
        if segment is None:
            segment = self.segments[name] = Segment()
        return segment


@dataclass(frozen=True, slots=True)
class Walk:
    """One account's turn at the model: its state, and the findings of the turn so far."""

    frame: Frame
    account: str
    state: AccountModelState
    out: list[Finding]

    def warm(self, index: int) -> bool:
        """Whether bucket `index` of the account may be judged: `warmup` after its first call,
        and never before `MIN_HISTORY_BUCKETS` of its buckets were learned."""
        state = self.state
        learned = state.baseline.level_count if state.baseline is not None else 0
        return index - state.since >= self.frame.warmup and learned >= MIN_HISTORY_BUCKETS

    def context(self, index: int) -> Context:
        """What judging bucket `index` and learning from it read besides the bucket."""
        state, frame = self.state, self.frame
        baseline = state.baseline
        if baseline is None:
            baseline = state.baseline = Baseline.empty()
        segment = frame.segment(self.segment_name())
        floor = frame.config.drift.min_wobble**2
        day = state.drift.wobble(0, segment.day_wobble_of(0), DAY_WOBBLE_STRENGTH, floor)
        peak, trough = state.drift.swing()
        busy = peak if trough >= 0.0 and peak >= BUSY_RATIO * max(trough, BUSY_FLOOR) else 0.0
        full = state.drift.full_day()
        slot = self.slot(index)
        return Context(baseline, segment, slot, frame.config, frame.enabled, day, busy, full)

    def segment_name(self) -> str:
        """The account's segment: its band of calls per day, or its configured tier."""
        level = self.state.baseline.level if self.state.baseline is not None else 0.0
        return self.frame.config.banding.of(self.account, level * self.frame.per_day)

    def thresholds(self) -> Thresholds:
        """The surprise thresholds of the account's segment."""
        return self.frame.config.thresholds_of(self.segment_name())

    def local_day(self, index: int) -> int:
        """The account's local day (days since the epoch) of bucket `index`."""
        return self.frame.local_hour(self.account, index) // 24

    def slot(self, index: int) -> int:
        """Seasonal slot of a bucket: the account's local hour of day, weekday or weekend."""
        local = self.frame.local_hour(self.account, index)
        weekend = hour_of_week(local) >= WEEKEND_START
        return 24 * weekend + local % 24
