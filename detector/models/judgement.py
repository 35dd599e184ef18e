"""The final judgement of a bucket no record can reach any more, and what is learned from it.

A bucket with calls (`final`) is judged in full (`judge.py`): calls against the slot's
seasonal expectation, parts of calls against their usual shares, each feature also over its
recent window (a trickle no single bucket shows); what is reported is judged at the running
day's own level (`judge.at_day_level`). A finding when the surprise reaches
`thresholds.warning` in `persist_buckets` buckets in a row, or `thresholds.immediate` at once,
unless the early look (`look.py`) reported the bucket already. Then the bucket is learned
(`learning.py`: with full weight when it looked normal, a tenth when not), summed for the
day's drift (`day.py`) unless a feature was unusual on its own, and a lasting jump of level
that was reported is accepted once (`_accept`). A quiet bucket (`quiet`) is learned as no
calls, with full weight unless the silence itself is unusual.
"""

from __future__ import annotations

from detector.models import day, explain
from detector.models.account import AccountModelState
from detector.models.counts import count_deviance, score
from detector.models.features import N_FEATURES, Bucket
from detector.models.findings import finding
from detector.models.frame import Walk
from detector.models.judge import Usual, Verdict, at_day_level, combined, judge, usual, window_z
from detector.models.learning import learn_bucket, learn_calls
from detector.models.look import REPORTED, ample

ACCEPT_BUCKETS = 4
ACCEPT_SHARE = 0.25
ACCEPT_RATIO = 2.0
ACCEPT_MAX = 100.0
"""A run of at least `ACCEPT_BUCKETS` buckets with unusually many calls, covering a quarter
of a day's expected calls at twice the expectation or more, is a new level (rescaled by at
most 100x at once)."""

DRIFT_EXCLUDE_Z = 4.0
"""A feature this unusual in a bucket (the bucket or window judgement's business) is left out
of the day's drift sums."""

ONGOING_Z = 1.0
"""A window is judged only while its bucket shows the feature at least this far above usual."""


def quiet(walk: Walk, index: int) -> None:
    """A bucket without calls: learned as none (with a tenth of the weight when the silence
    is unusual or the calls are drifting), summed for drift, and the day's drift checked."""
    state, frame = walk.state, walk.frame
    ctx = day.enter(walk, index)
    u = usual(ctx, calls_only=True)
    state.streak = 0
    drift = state.drift
    silent = -count_deviance(0.0, u.mu, u.spread)  # how unusual the silence is
    normal = drift.cusum(0) < frame.half_drift and silent < frame.config.learn_below
    learn_calls(0, ctx, u, 1.0 if normal else frame.config.unusual_weight)
    drift.add(0, 0.0, u.busy)
    drift.add_estimate(u.busy, u.prior, u.noise * frame.per_slot)
    drift.fade(frame.keep, u.mu)
    if walk.warm(index):
        day.check_drift(walk, ctx, index)
    state.age += 1


def final(walk: Walk, index: int, bucket: Bucket) -> None:
    """Judge bucket `index` for good, report it when persistent or extreme, learn from it,
    sum it for the day's drift and check the drift."""
    state, frame = walk.state, walk.frame
    ctx = day.enter(walk, index)
    state.drift.count_day(bucket.attempts)
    u = usual(ctx)
    verdict = judge(bucket, ctx, u)
    window = _slide(walk, bucket.parts(), verdict, u)
    verdict = combined(verdict, window, frame.enabled)
    warm = walk.warm(index)
    if warm:
        shown = at_day_level(verdict, bucket.attempts, window[0], u, bucket.lift, frame.enabled)
        state.score = score(shown.surprise)
        _report(walk, index, bucket, shown)
        learn_bucket(bucket, verdict, ctx, u, day.drifting(walk, ctx))
        _accept(state, frame.config.learn_below, bucket.attempts, verdict)
    else:
        calm = Verdict((0.0,) * N_FEATURES, verdict.expected, verdict.usual, 0.0)
        learn_bucket(bucket, calm, ctx, u, (False,) * N_FEATURES, warm=False)
    _sum_for_drift(walk, bucket, verdict, u)
    if warm:
        day.check_drift(walk, ctx, index, bucket)
    state.age += 1


def _sum_for_drift(walk: Walk, bucket: Bucket, verdict: Verdict, u: Usual) -> None:
    """Add the bucket's features (those not unusual on their own) to the day's drift sums;
    calls against the busy days of an account whose days swing (a campaign day after a day
    off is no drift)."""
    drift = walk.state.drift
    for f, count in enumerate(bucket.parts()):
        if verdict.z[f] < DRIFT_EXCLUDE_Z:  # what single buckets show is not drift
            drift.add(f, count, u.busy if f == 0 else verdict.expected[f])
    if verdict.z[0] < DRIFT_EXCLUDE_Z:
        drift.add_estimate(u.busy, u.prior, u.noise * walk.frame.per_slot)


def _accept(state: AccountModelState, limit: float, calls: int, verdict: Verdict) -> None:
    """A lasting change of level is accepted: once a reported run of buckets with
    unusually many calls (z >= `limit`) covers `ACCEPT_SHARE` of a day's expected calls at
    `ACCEPT_RATIO` times the expectation or more, the account's slots are rescaled to the
    run's level. A campaign switching on, or an account growing overnight, is reported once,
    not every bucket for weeks; a few hours at night (a night shift) cover too little of a day
    to be accepted, so a second night is still reported."""
    drift = state.drift
    unusual = verdict.z[0] >= limit
    observed, expected, length = drift.run(unusual, calls, verdict.expected[0])
    if length < ACCEPT_BUCKETS or expected < ACCEPT_SHARE * drift.full_day():
        return
    if not drift.run_reported() and not drift.day_reported(drift.day):
        return  # a change nobody was told about is not accepted (a ramp stays a ramp)
    if observed < ACCEPT_RATIO * expected:
        return
    assert state.baseline is not None  # noqa: S101 (a judged bucket has a baseline)
    state.baseline.rescale(min(observed / expected, ACCEPT_MAX))
    drift.run(False, 0.0, 0.0)
    drift.alert(0)


def _slide(
    walk: Walk, parts: tuple[int, ...], verdict: Verdict, u: Usual
) -> list[tuple[float, float, float]]:
    """Move every feature's recent window on by this bucket; each window's z and sums.

    A bucket whose own z is beyond `learn_below` enters the window with its excess shrunk
    to that level: the window is for trickles no bucket shows, and a burst that was
    already judged must not keep the window unusual for hours after it ended. And the
    window only speaks for a feature the bucket itself shows above usual (z >=
    `ONGOING_Z`): a trickle that stopped is not reported for the hours its window fades."""
    frame = walk.frame
    drift, keep, limit = walk.state.drift, frame.keep, frame.config.learn_below
    out = []
    for f in range(N_FEATURES):
        x, e, z = float(parts[f]), verdict.expected[f], verdict.z[f]
        if z > limit:  # an extreme bucket weighs in the window as a merely unusual one
            x = e + (x - e) * limit / z
        observed, expected = drift.slide(f, x, e, keep)
        ongoing = z >= ONGOING_Z and frame.enabled[f]
        z = window_z(f, observed, expected, u) if ongoing else 0.0
        out.append((z, observed, expected))
    return out


def _report(walk: Walk, index: int, bucket: Bucket, verdict: Verdict) -> None:
    """Count the streak of unusual buckets and report a persistent or extreme one."""
    state = walk.state
    th = walk.thresholds()
    unusual = verdict.surprise >= th.warning
    state.streak = state.streak + 1 if unusual else 0
    persistent = state.streak >= walk.frame.config.persist_buckets
    if not unusual:
        return
    if bucket.looked == REPORTED:  # the early look reported it already
        state.drift.run_reported(mark=True)
        return
    if persistent or (
        verdict.surprise >= th.immediate and ample(verdict, bucket, th.immediate_excess)
    ):
        summary = explain.final(verdict, bucket, state.baseline)
        walk.out.append(finding(walk, index, verdict.surprise, th, summary, bucket))
        state.drift.run_reported(mark=True)
