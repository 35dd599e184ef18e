"""The account's local day: started and closed as its buckets are judged, and its drift.

The final judgement walks an account's buckets in order; the first bucket of a new local day
closes the running one (`enter`). Closing a day adds its totals to each feature's daily
CUSUM (`drift.py`) and reports a feature whose CUSUM crossed the threshold; a day that was not
unusually high teaches how much the account's days swing (its day wobble, and its segment's).
While a day runs, `check_drift` reports a feature whose CUSUM is past the threshold with the
day as if it ended now, so a ramp is reported the day it crosses, not after midnight.
"""

from __future__ import annotations

from detector.models.features import N_FEATURES, Bucket
from detector.models.findings import drift_finding
from detector.models.frame import DAY_WOBBLE_STRENGTH, Walk
from detector.models.judge import Context
from detector.models.learning import winsorized
from detector.windows.seasonal import WEEKEND_START, hour_of_week

WOBBLE_AFTER_DAYS = 2
"""Days after the warm-up before an account's own days teach its day wobble: the first
days' expectations still lean on priors, and their misses are not the account's wobble."""


def enter(walk: Walk, index: int) -> Context:
    """The context of bucket `index`; when the bucket starts a new local day, the account's
    running day is closed first and the new one started."""
    ctx = walk.context(index)
    local_hour = walk.frame.local_hour(walk.account, index)
    day = local_hour // 24
    state = walk.state
    drift = state.drift
    if day != drift.day:
        if drift.day >= 0:
            _close_day(walk, ctx, index)
        weekend = hour_of_week(local_hour) >= WEEKEND_START
        complete = index > state.since
        drift.start_day(day, _full_day(walk, ctx, weekend), weekend, complete)
        ctx = walk.context(index)
    return ctx


def check_drift(walk: Walk, ctx: Context, index: int, bucket: Bucket | None = None) -> None:
    """Alert on a feature whose CUSUM, with the running day as if it ended now, is past h
    (once half of the day's expected calls are in)."""
    drift, cfg = walk.state.drift, walk.frame.config.drift
    if drift.totals(0)[1] < 0.5 * drift.full_day():
        return
    for f in range(N_FEATURES):
        observed, expected = drift.totals(f)
        if not walk.frame.enabled[f] or observed <= expected or expected < cfg.min_expected:
            continue
        if drift.alerted(f):
            continue
        wobble = _day_wobble(walk, ctx, f)
        if drift.running(f, wobble, cfg.reference, cfg.cap) >= cfg.threshold:
            walk.out.append(drift_finding(walk, index + 1, f, observed, expected, bucket))
            drift.alert(f)


def drifting(walk: Walk, ctx: Context) -> tuple[bool, ...]:
    """Per feature, whether it is drifting up: its CUSUM as of the last closed day, or as it
    would stand with the running day ending now (`Drift.running`), at half the threshold or
    more (calls: only as of the last closed day; their running day has its own level,
    `daylevel.py`). A drifting feature is learned with a tenth of the weight: the first day
    of a change that adds up is not taught as normal while it is adding up (a destination
    mix or duration creep whose buckets are each only an event or two above usual)."""
    drift, frame = walk.state.drift, walk.frame
    cfg, half = frame.config.drift, frame.half_drift
    out = []
    for f in range(N_FEATURES):
        s = drift.cusum(f)
        if s < half and f and frame.enabled[f]:
            observed, expected = drift.totals(f)
            if observed > expected >= cfg.min_expected:
                s = drift.running(f, _day_wobble(walk, ctx, f), cfg.reference, cfg.cap)
        out.append(s >= half)
    return tuple(out)


def _full_day(walk: Walk, ctx: Context, weekend: bool) -> float:
    """Calls a whole local day (weekday or weekend) is expected to bring."""
    baseline, profile = ctx.baseline, ctx.segment.profile
    bucket_s = walk.frame.bucket_s
    prior = walk.frame.config.prior_strength * 3600.0 / bucket_s
    first = 24 * weekend
    hourly = sum(
        baseline.expected(s, profile, prior, ctx.day_wobble)[0] for s in range(first, first + 24)
    )
    return hourly * 3600.0 / bucket_s


def _close_day(walk: Walk, ctx: Context, index: int) -> None:
    """Close the running day: each feature's CUSUM takes the day's totals; one past the
    threshold is reported, and a day neither reported nor unusually high is learned from."""
    state, frame = walk.state, walk.frame
    drift, cfg = state.drift, frame.config.drift
    if not walk.warm(index):
        return
    learn = index - state.since >= frame.warmup + WOBBLE_AFTER_DAYS * frame.per_day
    for f in range(N_FEATURES):
        observed, expected = drift.totals(f)
        if not frame.enabled[f] or expected < cfg.min_expected:
            continue
        alerted = drift.alerted(f)
        wobble = _day_wobble(walk, ctx, f)
        d = drift.close_day(f, wobble, cfg.reference, cfg.cap)
        up = d >= frame.config.learn_below or (d > 0.0 and drift.cusum(f) > 0.0)
        if drift.cusum(f) >= cfg.threshold:
            walk.out.append(drift_finding(walk, index, f, observed, expected))
            drift.alert(f)
        elif learn and not alerted and not up:
            _learn_day(walk, ctx, f, observed - expected, expected, wobble)
    drift.days += 1


def _learn_day(
    walk: Walk, ctx: Context, f: int, miss: float, expected: float, wobble: float
) -> None:
    """A day that was not unusually high teaches how much the account's days swing: its
    squared miss beyond Poisson noise and beyond what the expectation itself may be off by
    (`Drift.estimate`), winsorized. An unusual excess, or any excess while the CUSUM is
    past half its threshold, does not (a ramp would teach the wobble that hides it)."""
    drift = walk.state.drift
    variance = expected * (1.0 + wobble * expected)
    known = expected + (drift.estimate() if f == 0 else 0.0) * expected**2
    spread = winsorized(miss, variance) + variance - known
    drift.learn_day(f, spread)
    ctx.segment.learn_day_wobble(f, spread, expected**2)


def _day_wobble(walk: Walk, ctx: Context, f: int) -> float:
    """Feature `f`'s day-to-day wobble, plus for calls how uncertain the day's expectation
    itself is (a first weekend judged against a prior is not a drift)."""
    floor = walk.frame.config.drift.min_wobble**2
    drift = walk.state.drift
    wobble = drift.wobble(f, ctx.segment.day_wobble_of(f), DAY_WOBBLE_STRENGTH, floor)
    return wobble + drift.estimate() if f == 0 else wobble
