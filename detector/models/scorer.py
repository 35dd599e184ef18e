"""The online anomaly model: each account against its own seasonal past, scored by a shared model.

Per CDR: add it to the account's open time bucket (event time = CDR start; a few additions).
When a CDR of a later bucket arrives (or `advance` passes the bucket's end), the finished bucket
becomes a feature vector, then deviations from the account's seasonal baseline, then a raw score
from the shared river model, calibrated to [0, 1] by rank. Scoring happens before learning; a
bucket judged anomalous is learned by neither the baseline nor the shared model. Buckets with no
calls in between are learned as zeros (capped by `max_gap`), so quiet hours stay quiet.

A bucket is anomalous when the account is warmed up (and the bucket's slot has history), the
calibrated score reaches `threshold`, and some feature deviates by at least `min_deviation`
floored z-scores, so the rarest buckets of a perfectly regular account are not alerts. An
anomalous bucket is a finding when it is the `persist_buckets`-th anomalous bucket in a row, or
when it deviates by at least `immediate_deviation`: a lone bucket of a few long calls in a quiet
hour is chance, fraud that is not extreme lasts longer than one bucket.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from detector.domain import CDR, AlertTiming, Finding, Severity
from detector.models.baseline import Baseline, slot_count
from detector.models.calibration import Calibrator
from detector.models.explain import summary
from detector.models.features import FEATURES, Bucket
from detector.models.shared import SharedScorer
from detector.windows.clock import Zones
from detector.windows.seasonal import WEEKEND_START, hour_of_week

SOURCE = "model:account-behaviour"
"""The `Finding.source` of every model finding."""


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Settings of the anomaly model; validated by the settings loader, frozen here."""

    bucket: timedelta = timedelta(minutes=15)
    warmup_buckets: int = 192
    threshold: float = 0.995
    critical_threshold: float = 0.999
    min_attempts: int = 5
    min_deviation: float = 5.0
    persist_buckets: int = 2
    """Consecutive anomalous buckets an account needs before the model reports a finding..."""
    immediate_deviation: float = 20.0
    """...unless the bucket deviates by at least this many floored z-scores: then at once."""
    min_slot_days: int = 2
    slot_hours: int = 1
    timezone: str = "Asia/Kolkata"
    """Local time of the accounts' seasonal slots: the rule set's `timezone`..."""
    timezones: Mapping[str, str] = field(default_factory=dict)
    """...and its per-account `timezones`, so the model and the rules share local hours."""
    home_country: str = "IN"
    alpha: float = 0.02
    max_gap: timedelta = timedelta(days=7)
    seed: int = 0
    n_trees: int = 10
    height: int = 8
    window_size: int = 250
    reservoir: int = 4096
    calibration_min: int = 200
    shadow: bool = True
    """Record the model's alerts without notifying (the default until it is tuned on your
    traffic: on the 7-day benchmark, seeds 1-4, it adds no false alert, but no recall either)."""


@dataclass(slots=True)
class AccountModelState:
    """Per-account model state: the open bucket and the seasonal baseline; picklable, small."""

    baseline: Baseline | None = None
    bucket: int | None = None
    current: Bucket = field(default_factory=Bucket)
    learned: int = 0
    late: int = 0
    streak: int = 0
    """Anomalous buckets in a row up to the last closed one."""
    score: float | None = None
    """Calibrated score of the last scored bucket (None until one is scored), for metrics."""

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        """Restore pickled slots; a state saved before `streak` or `score` existed gets the
        defaults."""
        self.streak, self.score = 0, None
        for name, value in state[1].items():
            object.__setattr__(self, name, value)

    @classmethod
    def empty(cls) -> AccountModelState:
        """State used when no model is configured (no baseline allocated)."""
        return cls()


@dataclass(frozen=True, slots=True)
class _Scored:
    """What scoring one closed bucket produced."""

    finding: Finding | None
    learn: bool
    score: float | None = None


class AnomalyModel:
    """Scores per-account buckets with a shared online model."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.zones = Zones(config.timezone, config.timezones)
        self.bucket_s = int(config.bucket.total_seconds())
        self.slots = slot_count(config.slot_hours)
        self.max_gap = int(config.max_gap.total_seconds()) // self.bucket_s
        self.min_slot_buckets = config.min_slot_days * config.slot_hours * 3600 // self.bucket_s
        self.shared = SharedScorer(
            n_trees=config.n_trees,
            height=config.height,
            window_size=config.window_size,
            seed=config.seed,
        )
        self.calibrator = Calibrator(
            size=config.reservoir, min_scores=config.calibration_min, seed=config.seed
        )

    def new_state(self) -> AccountModelState:
        """Empty state for a newly seen account."""
        return AccountModelState(baseline=Baseline.empty(self.slots))

    def timing(self) -> AlertTiming:
        """Alert lifecycle for model findings: resolve after two quiet buckets."""
        return AlertTiming(resolve_after_s=2.0 * self.bucket_s, cooldown_s=4.0 * self.bucket_s)

    def observe(self, cdr: CDR, state: AccountModelState) -> list[Finding]:
        """Add a CDR to its account's current bucket; when a bucket closes, score it."""
        index = int(cdr.start.timestamp()) // self.bucket_s
        if state.bucket is None:
            state.bucket = index
        if index < state.bucket:
            state.late += 1
            return []
        findings = self._roll(cdr.account, state, index) if index > state.bucket else []
        state.current.add(cdr, self.config.home_country)
        return findings

    def advance(self, account: str, watermark: datetime, state: AccountModelState) -> list[Finding]:
        """Event time passed `watermark`: close the open bucket if it has ended."""
        index = int(watermark.timestamp()) // self.bucket_s
        if state.bucket is None or index <= state.bucket:
            return []
        return self._roll(account, state, index)

    def global_state(self) -> bytes:
        """The shared river model and the calibrator, pickled (tied to river's minor version)."""
        return pickle.dumps((self.shared, self.calibrator), protocol=pickle.HIGHEST_PROTOCOL)

    def restore_global(self, blob: bytes) -> None:
        """Inverse of `global_state`; the blob comes from our own state store, never from users."""
        self.shared, self.calibrator = pickle.loads(blob)  # noqa: S301 (our own state file)

    def _roll(self, account: str, state: AccountModelState, index: int) -> list[Finding]:
        """Close the open bucket, learn the empty buckets up to `index`, open `index`."""
        assert state.bucket is not None  # noqa: S101 (callers checked)
        if state.baseline is None:
            state.baseline = Baseline.empty(self.slots)
        findings = []
        scored = self._close(account, state, state.bucket, state.current)
        if scored.finding is not None:
            findings.append(scored.finding)
        if index > state.bucket + 1:
            state.streak = 0  # quiet buckets in between are normal
        gap = min(index - state.bucket - 1, self.max_gap)
        empty = [0.0] * len(FEATURES)
        for quiet in range(index - gap, index):
            state.baseline.learn(self._slot(account, quiet), empty, 0, self.config.alpha)
            state.learned += 1
        state.bucket = index
        state.current = Bucket()
        return findings

    def _close(self, account: str, state: AccountModelState, index: int, bucket: Bucket) -> _Scored:
        """Score one closed bucket, then learn it unless it was judged anomalous."""
        baseline = state.baseline
        assert baseline is not None  # noqa: S101 (callers allocate it)
        slot = self._slot(account, index)
        x = bucket.vector()
        z = baseline.deviations(slot, x, bucket.attempts)
        scored = _Scored(None, learn=True)
        if self._scorable(state, baseline, slot, bucket):
            scored = self._judge(
                account,
                index,
                slot=slot,
                baseline=baseline,
                bucket=bucket,
                x=x,
                z=z,
                streak=state.streak,
            )
            state.score = scored.score
            if scored.learn:
                self.shared.learn(z)
        state.streak = 0 if scored.learn else state.streak + 1
        if scored.learn:
            baseline.learn(slot, x, bucket.attempts, self.config.alpha)
            state.learned += 1
        return scored

    def _scorable(self, state: AccountModelState, baseline: Baseline, slot: int, b: Bucket) -> bool:
        """Warmed-up account, a slot with history, and enough calls to judge."""
        cfg = self.config
        return (
            state.learned >= cfg.warmup_buckets
            and baseline.count(slot) >= self.min_slot_buckets
            and b.attempts >= cfg.min_attempts
        )

    def _judge(
        self,
        account: str,
        index: int,
        *,
        slot: int,
        baseline: Baseline,
        bucket: Bucket,
        x: list[float],
        z: list[float],
        streak: int,
    ) -> _Scored:
        """Score before learning; anomalous when rare (calibrated) and materially deviating, a
        finding when it is the `persist_buckets`-th in a row (`streak` before it) or extreme."""
        raw = self.shared.raw_score(z)
        score = self.calibrator.calibrate(raw)
        self.calibrator.add(raw)
        cfg = self.config
        deviation = max(abs(v) for v in z)
        if score < cfg.threshold or deviation < cfg.min_deviation:
            return _Scored(None, learn=True, score=score)
        if streak + 1 < cfg.persist_buckets and deviation < cfg.immediate_deviation:
            return _Scored(None, learn=False, score=score)  # anomalous, not yet reported
        usual = [baseline.usual(slot, f) for f in range(len(FEATURES))]
        severity = Severity.CRITICAL if score >= cfg.critical_threshold else Severity.WARNING
        finding = Finding(
            source=SOURCE,
            account=account,
            key=account,
            severity=severity,
            value=score,
            threshold=cfg.threshold,
            window_s=float(self.bucket_s),
            at=datetime.fromtimestamp((index + 1) * self.bucket_s, UTC),
            summary=summary(z, x, usual),
            evidence=tuple(bucket.call_ids),
            labels=(("account", account), ("pattern", "account_behaviour")),
            shadow=cfg.shadow,
            details=(("raw_score", f"{raw:.6f}"), ("attempts", str(bucket.attempts))),
        )
        return _Scored(finding, learn=False, score=score)

    def _slot(self, account: str, index: int) -> int:
        """Seasonal slot of a bucket: block of the account's local hour of day, weekday or
        weekend."""
        local = self.zones.of(account).local_hour(index * self.bucket_s)
        weekend = hour_of_week(local) >= WEEKEND_START
        return (self.slots // 2) * weekend + (local % 24) // self.config.slot_hours
