"""The early look: each bucket judged as soon as it ends, and the running day with it.

Waiting the horizon (3 h by default) for a bucket's final judgement would be slow for what
is obvious, so every bucket that ended since the last look, quiet ones too, is looked at in
order: one with calls is judged on its counts so far against absolute expectations
(`judge.judge(early=True)`) at the running day's own level (`daylevel.py`), and reported at
once when extreme (surprise >= `thresholds.immediate`; the final judgement then does not
report it again); then its calls join the day's level. A day whose level runs beyond how far
the account's days plausibly swing is reported once, as a day.
"""

from __future__ import annotations

from detector.models import daylevel, explain
from detector.models.counts import count_z, normal_z, score, surprise
from detector.models.features import FEATURES, Bucket
from detector.models.findings import finding
from detector.models.frame import Walk
from detector.models.judge import Context, Usual, Verdict, at_level, judge, usual

LOOKED, REPORTED = 1, 2
"""`Bucket.looked`: the early look judged it; it also reported it."""


def early(walk: Walk, ended: int) -> None:
    """Every bucket that ended since the last look, quiet ones too, in order: one with
    calls is judged (absolute counts only) against the running day's own level so far
    (`daylevel.py`), then joins that level; a day beyond how far the account's days swing
    is reported once."""
    state, frame = walk.state, walk.frame
    start = max(state.looked, ended - int(frame.per_day))
    state.looked = ended
    drift = state.drift
    for index in range(start, ended):
        bucket = state.pending.get(index)
        ctx = walk.context(index)
        u = usual(ctx, calls_only=bucket is None)
        day = walk.local_day(index)
        lift = daylevel.lift(drift, day, ctx, frame.per_slot, frame.swing_z)
        calls = joining = 0.0
        if bucket is not None:
            calls = float(bucket.attempts)
            joining = _look(walk, ctx, u, lift, index, bucket)
        if bucket is None or bucket.looked != REPORTED:  # a reported burst is not the day
            drift.add_on_day(calls, joining, u.mu, u.prior)
        if lift > 1.0 and walk.warm(index):
            _judge_day(walk, ctx, lift, index, bucket)


def _look(walk: Walk, ctx: Context, u: Usual, lift: float, index: int, bucket: Bucket) -> float:
    """The early look at a bucket that just ended, against the day's level `lift`; returns
    the calls it adds to that level (`daylevel.joining`)."""
    calls = float(bucket.attempts)
    if bucket.looked:
        return calls
    bucket.looked, bucket.lift = LOOKED, lift
    if not walk.warm(index):
        return calls
    lifted = at_level(u, lift)
    verdict = judge(bucket, ctx, lifted, early=True)
    walk.state.score = score(verdict.surprise)
    th = walk.thresholds()
    if verdict.surprise >= th.immediate and confirmed(walk, index, verdict, bucket):
        bucket.looked = REPORTED
        summary = explain.counts(verdict, bucket)
        walk.out.append(finding(walk, index, verdict.surprise, th, summary, bucket, kind="early"))
    if verdict.surprise >= th.warning:
        walk.state.unusual_at = index
    return daylevel.joining(calls, lifted, verdict.z[0], walk.frame.config.learn_below)


def confirmed(walk: Walk, index: int, verdict: Verdict, bucket: Bucket) -> bool:
    """Whether an extreme early look may be reported at once: its evidence is `ample`, or
    another bucket within the recent window looked unusual too (a night shift's calls come
    a few at a time, a one-off handful of calls once)."""
    if ample(verdict, bucket, walk.thresholds().immediate_excess):
        return True
    since = index - walk.state.unusual_at
    return walk.state.unusual_at >= 0 and 0 < since <= walk.frame.window_buckets


def ample(verdict: Verdict, bucket: Bucket, floor: float) -> bool:
    """Whether the bucket's most unusual feature is at least `floor` events above what was
    expected (its recent window's when that spoke), so it may be reported at once; a new
    caller id always is (each is new once, so a pool shows in its first buckets only)."""
    f = explain.top_features(verdict.z)[0]  # the feature its summary names first
    if FEATURES[f].key == "new_caller":
        return True
    window = verdict.window[f] if verdict.window else (0.0, 0.0)
    observed, expected = window if window[1] > 0.0 else (bucket.parts()[f], verdict.expected[f])
    return observed - expected >= floor


def _judge_day(walk: Walk, ctx: Context, lift: float, index: int, bucket: Bucket | None) -> None:
    """Report, once a day, a day whose own level is beyond how far the account's days
    plausibly swing (`daylevel.beyond`): its buckets no longer say it."""
    frame, drift = walk.frame, walk.state.drift
    day = walk.local_day(index)
    found = daylevel.beyond(drift, day, ctx, lift, frame.per_slot, frame.swing_z)
    if found is None:
        return
    observed, expected, wobble = found
    drift.day_reported(mark=True)
    th = walk.thresholds()
    residual = normal_z(count_z(observed, expected, wobble), daylevel.freedom(drift))
    value = max(surprise(residual), th.warning)
    summary = f"calls {explain.ratio(observed, expected)} so far today"
    walk.out.append(finding(walk, index, value, th, summary, bucket, kind="day"))
