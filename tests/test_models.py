"""Behaviour of the online anomaly model on synthetic per-account traffic."""

from __future__ import annotations

import math
import pickle
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from detector.domain import CDR, Direction, Finding, Severity, Status
from detector.models.features import Bucket
from detector.models.scorer import SOURCE, AccountModelState, AnomalyModel, ModelConfig

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
BUCKET = timedelta(minutes=15)
IST = timedelta(hours=5, minutes=30)


def call(
    account: str,
    start: datetime,
    n: int,
    *,
    status: Status = Status.ANSWERED,
    talk_s: float = 60.0,
    to: str | None = None,
    country: str = "IN",
) -> CDR:
    """One CDR with the fields the model reads."""
    answered = status is Status.ANSWERED
    return CDR(
        call_id=f"{account}-{start:%Y%m%d%H%M%S}-{n}",
        account=account,
        direction=Direction.OUTBOUND,
        status=status,
        start=start,
        answer=start + timedelta(seconds=8) if answered else None,
        end=start + timedelta(seconds=8 + (talk_s if answered else 0.0)),
        talk_s=talk_s if answered else 0.0,
        ring_s=8.0 if answered else 30.0,
        from_number="+911140000000",
        to_number=to or f"+9198{n % 200:08d}",
        cost=round(talk_s / 60 * 0.45, 2) if answered else 0.02,
        dest_country=country,
        dest_type="MOBILE",
    )


def periodic(account: str, days: float, *, seed: int = 1, start: datetime = START) -> Iterator[CDR]:
    """A business account: ~8 calls per 15 min 09:00–21:00 IST (UTC+5:30), half on weekends."""
    rng = random.Random(seed)
    buckets = int(days * 96)
    for b in range(buckets):
        at = start + b * BUCKET
        local = at + IST
        if not 9 <= local.hour < 21:
            continue
        rate = 8 if local.weekday() < 5 else 4
        for _ in range(max(0, rate + rng.randint(-3, 3))):
            t = at + timedelta(seconds=rng.randrange(900))
            roll = rng.random()
            status = (
                Status.ANSWERED if roll < 0.6 else Status.NO_ANSWER if roll < 0.9 else Status.FAILED
            )
            yield call(account, t, rng.randrange(10**6), status=status, talk_s=rng.uniform(20, 240))


def burst(account: str, at: datetime, calls: int = 160) -> Iterator[CDR]:
    """A robocall burst: many 2-second answered calls to distinct numbers in one bucket."""
    for n in range(calls):
        yield call(
            account, at + timedelta(seconds=n * 900 / calls), n, talk_s=2.0, to=f"+9199{n:08d}"
        )


CONFIG = ModelConfig(calibration_min=100)
BURST_AT = START + timedelta(days=9, hours=6)  # a Wednesday, 11:30 IST


def feed(model: AnomalyModel, cdrs: Iterable[CDR], state: AccountModelState) -> list[Finding]:
    """Observe CDRs in start order and collect the findings."""
    found: list[Finding] = []
    for cdr in sorted(cdrs, key=lambda c: c.start):
        found.extend(model.observe(cdr, state))
    return found


def warmed(days: float = 9) -> tuple[AnomalyModel, AccountModelState]:
    """A model and an account state after `days` of clean periodic traffic."""
    model = AnomalyModel(CONFIG)
    state = model.new_state()
    assert feed(model, periodic("MA_1", days), state) == []
    return model, state


def test_clean_periodic_account_has_no_findings() -> None:
    """Three weeks of regular business traffic produce no finding."""
    model = AnomalyModel(CONFIG)
    state = model.new_state()
    assert feed(model, periodic("MA_1", 21), state) == []
    assert model.calibrator.ready


def test_burst_after_warmup_is_found_and_explained() -> None:
    """A short-call burst in a warmed-up account gives one finding naming the deviating features."""
    model, state = warmed()
    found = feed(model, burst("MA_1", BURST_AT), state)
    found += model.observe(call("MA_1", BURST_AT + BUCKET, 1), state)
    assert len(found) == 1
    f = found[0]
    assert f.source == SOURCE
    assert f.account == f.key == "MA_1"
    assert f.labels == (("account", "MA_1"), ("pattern", "account_behaviour"))
    assert f.shadow  # recorded, not notified, until the model is switched to live
    assert f.severity is Severity.CRITICAL
    assert f.value >= CONFIG.critical_threshold
    assert f.threshold == CONFIG.threshold
    assert f.window_s == 900.0
    assert f.at == BURST_AT + BUCKET
    assert "short calls" in f.summary
    assert "answered" in f.summary
    assert len(f.evidence) == 3
    assert all(cid.startswith("MA_1-") for cid in f.evidence)


def test_warmup_suppresses_findings() -> None:
    """The same burst on the account's first day is learned, not reported."""
    model = AnomalyModel(CONFIG)
    state = model.new_state()
    early = START + timedelta(hours=6)
    cdrs = [*periodic("MA_1", 1), *burst("MA_1", early)]
    assert feed(model, cdrs, state) == []
    assert state.learned < CONFIG.warmup_buckets


def test_anomalous_bucket_is_not_learned() -> None:
    """Closing a bucket judged anomalous leaves the baseline and the shared model untouched."""
    model, state = warmed()
    feed(model, burst("MA_1", BURST_AT), state)
    assert state.baseline is not None
    before = pickle.dumps((state.baseline, state.learned, model.shared))
    found = model.observe(call("MA_1", BURST_AT + BUCKET, 1), state)
    assert len(found) == 1
    assert pickle.dumps((state.baseline, state.learned, model.shared)) == before


def test_normal_bucket_is_learned() -> None:
    """Closing a normal bucket changes the baseline (the previous test can fail)."""
    model, state = warmed()
    feed(model, periodic("MA_1", 1, start=START + timedelta(days=9), seed=7), state)
    before = pickle.dumps((state.baseline, state.learned))
    model.observe(call("MA_1", START + timedelta(days=10, hours=6), 1), state)
    assert pickle.dumps((state.baseline, state.learned)) != before


def constant(account: str, days: int, calls: int) -> list[CDR]:
    """Exactly `calls` identical answered calls in every bucket of the day (zero variance)."""
    return [
        call(account, START + b * BUCKET + timedelta(seconds=n), n, talk_s=60.0)
        for b in range(days * 96)
        for n in range(calls)
    ]


def test_zero_variance_stretch_does_not_give_max_score() -> None:
    """After identical buckets for days, one extra call is a small deviation and no finding."""
    model = AnomalyModel(CONFIG)
    state = model.new_state()
    assert feed(model, constant("MA_2", 6, 10), state) == []
    at = START + timedelta(days=6)
    nudged = [call("MA_2", at + timedelta(seconds=n), n, talk_s=60.0) for n in range(11)]
    assert state.baseline is not None
    slot = model._slot("MA_2", int(at.timestamp()) // 900)
    bucket = Bucket()
    for cdr in nudged:
        bucket.add(cdr, CONFIG.home_country)
    z = state.baseline.deviations(slot, bucket.vector(), bucket.attempts)
    assert 0.1 < max(abs(v) for v in z) < 1.0
    assert model.calibrator.calibrate(model.shared.raw_score(z)) < CONFIG.threshold
    assert feed(model, [*nudged, call("MA_2", at + BUCKET, 1)], state) == []


def test_seasonal_slots_follow_each_accounts_timezone() -> None:
    """Monday 04:30 UTC is a weekday 10:00 slot in India (the default) but the Sunday 23:00
    weekend slot for an account the rule set places in New York."""
    model = AnomalyModel(replace(CONFIG, timezones={"MA_ny": "America/New_York"}))
    index = int(datetime(2026, 1, 5, 4, 30, tzinfo=UTC).timestamp()) // 900
    assert model._slot("MA_in", index) == 10
    assert model._slot("MA_ny", index) == 24 + 23


def test_india_slots_are_those_of_the_fixed_offset_older_states_learned() -> None:
    """With the default Asia/Kolkata zone every slot equals the former fixed +05:30 one, so
    saved baselines keep their meaning."""
    model = AnomalyModel(CONFIG)
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) // 900
    for index in range(start, start + 8 * 96, 7):
        local = index * 900 + 19800
        weekend = ((local // 86400) + 3) % 7 >= 5
        assert model._slot("MA_x", index) == 24 * weekend + (local // 3600) % 24


def test_pickle_round_trip_gives_identical_scores() -> None:
    """Restored account and global state score the rest of the stream exactly like the originals."""
    model, state = warmed(7)
    copy = AnomalyModel(CONFIG)
    copy.restore_global(model.global_state())
    copy_state = pickle.loads(pickle.dumps(state))  # noqa: S301 (our own bytes)
    rest = [*periodic("MA_1", 3, start=START + timedelta(days=7), seed=3), *burst("MA_1", BURST_AT)]
    assert feed(model, rest, state) == feed(copy, rest, copy_state) != []
    assert model.calibrator.scores == copy.calibrator.scores


def test_same_seed_is_deterministic() -> None:
    """Two models with one seed give the same findings and calibrated scores."""
    runs = []
    for _ in range(2):
        model, state = warmed()
        runs.append((feed(model, burst("MA_1", BURST_AT), state), model.calibrator.scores))
        runs[-1][0].extend(model.observe(call("MA_1", BURST_AT + BUCKET, 1), state))
    assert runs[0] == runs[1]


def test_account_state_stays_small() -> None:
    """A warmed-up account with an open, busy bucket pickles to less than 4 KB."""
    model, state = warmed()
    feed(model, burst("MA_1", BURST_AT), state)
    long_ids = [
        replace(c, call_id=f"{uuid.UUID(int=i)}")
        for i, c in enumerate(burst("MA_1", BURST_AT + BUCKET))
    ]
    feed(model, long_ids, state)
    assert len(state.current.call_ids) == 3
    assert len(pickle.dumps(state)) < 4096


def test_late_cdr_is_counted_not_added() -> None:
    """A CDR for an already closed bucket is counted as late and changes nothing else."""
    model, state = warmed(3)
    attempts = state.current.attempts
    assert model.observe(call("MA_1", START, 99), state) == []
    assert state.late == 1
    assert state.current.attempts == attempts


def test_advance_closes_the_open_bucket() -> None:
    """Passing the watermark beyond the burst's bucket reports it without another CDR."""
    model, state = warmed()
    feed(model, burst("MA_1", BURST_AT), state)
    found = model.advance("MA_1", BURST_AT + 2 * BUCKET, state)
    assert [f.at for f in found] == [BURST_AT + BUCKET]
    assert model.advance("MA_1", BURST_AT + 2 * BUCKET, state) == []


def test_empty_state_and_timing() -> None:
    """`AccountModelState.empty()` still works and model alerts resolve after two buckets."""
    assert AccountModelState.empty().baseline is None
    assert AnomalyModel(CONFIG).timing().resolve_after_s == 1800.0


PERSIST = replace(CONFIG, immediate_deviation=math.inf)
"""Every anomalous bucket must persist: the burst is no longer extreme enough to skip it."""


def test_lone_anomalous_bucket_is_neither_reported_nor_learned() -> None:
    """Below `immediate_deviation`, one anomalous bucket is remembered as a streak, not reported."""
    model = AnomalyModel(PERSIST)
    state = model.new_state()
    assert feed(model, periodic("MA_1", 9), state) == []
    feed(model, burst("MA_1", BURST_AT), state)
    before = pickle.dumps((state.baseline, state.learned, model.shared))
    assert model.observe(call("MA_1", BURST_AT + BUCKET, 1), state) == []
    assert state.streak == 1
    assert pickle.dumps((state.baseline, state.learned, model.shared)) == before


def test_anomaly_persisting_two_buckets_is_reported_on_the_second() -> None:
    """Two anomalous buckets in a row give one finding, at the end of the second."""
    model = AnomalyModel(PERSIST)
    state = model.new_state()
    assert feed(model, periodic("MA_1", 9), state) == []
    found = feed(model, [*burst("MA_1", BURST_AT), *burst("MA_1", BURST_AT + BUCKET)], state)
    found += model.observe(call("MA_1", BURST_AT + 2 * BUCKET, 1), state)
    assert [f.at for f in found] == [BURST_AT + 2 * BUCKET]
    assert state.streak == 2


def test_quiet_bucket_between_anomalies_breaks_the_streak() -> None:
    """Anomalous buckets with a quiet one between them are two lone anomalies, not a finding."""
    model = AnomalyModel(PERSIST)
    state = model.new_state()
    assert feed(model, periodic("MA_1", 9), state) == []
    found = feed(model, [*burst("MA_1", BURST_AT), *burst("MA_1", BURST_AT + 2 * BUCKET)], state)
    found += model.observe(call("MA_1", BURST_AT + 3 * BUCKET, 1), state)
    assert found == []
    assert state.streak == 1


def test_extreme_bucket_is_reported_at_once() -> None:
    """A bucket deviating beyond `immediate_deviation` is a finding without waiting for another."""
    model, state = warmed()
    assert CONFIG.persist_buckets == 2
    feed(model, burst("MA_1", BURST_AT), state)
    found = model.observe(call("MA_1", BURST_AT + BUCKET, 1), state)
    assert [f.at for f in found] == [BURST_AT + BUCKET]
    assert state.streak == 1


def test_state_saved_before_streak_existed_restores_with_no_streak() -> None:
    """An account state pickled without `streak` (older releases) loads with a streak of 0."""
    _, state = warmed(3)
    del state.streak
    old = pickle.loads(pickle.dumps(state))  # noqa: S301 (our own bytes)
    assert old.streak == 0
    assert old.learned == state.learned
