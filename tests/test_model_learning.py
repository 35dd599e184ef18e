"""What the anomaly model learns from rare parts of an account's calls (`models/learning.py`)."""

from __future__ import annotations

from model_traffic import START, Habits, Traffic, days, replay

from detector.domain import Status
from detector.models.config import ModelConfig
from detector.models.features import N_SHARES
from detector.models.scorer import AnomalyModel

FAILED = 1
"""Index of the failed share in `Baseline.shares`."""


def round_the_clock(per_hour: float, failed: float, seed: int) -> Traffic:
    """Ten days of an account calling `per_hour` calls every hour, `failed` of them failing."""
    habits = Habits(answer=0.7 - failed, no_answer=0.3)
    traffic = Traffic(f"MA_rare{seed}", habits=habits, seed=seed)
    return traffic.calls(lambda _local: per_hour, START, START + days(10))


def test_a_rare_parts_usual_share_is_learned_at_its_value() -> None:
    """A failure share of about 2 % on buckets of three calls (one failure in a bucket is
    already two standard deviations up) is learned within a quarter of its true value, not
    at a fraction of it."""
    for seed in (1, 3):
        traffic = round_the_clock(12.0, 0.02, seed)
        _, state = replay(AnomalyModel(ModelConfig()), traffic.cdrs)
        assert state.baseline is not None
        sums = state.baseline.shares
        learned = sums[FAILED] / sums[N_SHARES + FAILED]
        true = sum(c.status is Status.FAILED for c in traffic.cdrs) / len(traffic.cdrs)
        assert abs(learned / true - 1.0) < 0.25, (seed, learned, true)


def test_an_account_with_a_steady_rare_failure_share_raises_no_drift() -> None:
    """Ten ordinary days of a small round-the-clock account whose calls fail at a steady 2 %
    raise nothing: its days are judged against the share it really has."""
    for seed in (1, 2, 3):
        found, _ = replay(AnomalyModel(ModelConfig()), round_the_clock(12.0, 0.02, seed).cdrs)
        assert [f.summary for f in found] == [], seed
