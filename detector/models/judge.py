"""Judging one bucket: each feature's upper-tail deviance residual against the account's
baseline (with its segment's priors), and the bucket's surprise.

Two looks at a bucket:
- **final** (once no call that started in it can still arrive): calls against the seasonal
  expectation, every part against its usual share of the bucket's own parent count
  (unanswered among calls, long among answered, international among outbound, ...): a busy
  hour is not "more international", only a larger share is;
- **early** (as soon as the bucket ends): records of long calls are still missing, so
  shares of observed counts would be biased (fewer answered calls than there will be).
  Every count is instead judged against its *absolute* expectation (calls × usual parent
  share × usual share): missing records can only lower a count, so an early look never
  overstates a surprise.

The surprise is -log10 of the largest feature's tail probability times the number of
features judged (Bonferroni), so adding features does not add false alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from detector.models.baseline import Baseline
from detector.models.config import ModelConfig
from detector.models.counts import count_z, share_z, surprise
from detector.models.features import N_FEATURES, N_SHARES, Bucket
from detector.models.segments import Segment

ANSWERED_SHARE, OUTBOUND_SHARE = N_SHARES - 2, N_SHARES - 1
"""Where the parent counts' own shares of calls are kept in `Baseline.shares`."""

_PARENT_SHARE = (-1, -1, -1, ANSWERED_SHARE, ANSWERED_SHARE, OUTBOUND_SHARE, OUTBOUND_SHARE, -1)
"""Per feature, the share of calls its parent count is (-1: calls themselves)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Per feature: upper-tail z, expected count, usual share (calls: expected per bucket)."""

    z: tuple[float, ...]
    expected: tuple[float, ...]
    usual: tuple[float, ...]
    surprise: float
    window: tuple[tuple[float, float], ...] = ()
    """Per feature, the recent window's observed and expected counts when its z is the
    window's (larger than the bucket's), else (0, 0)."""


@dataclass(frozen=True, slots=True)
class Usual:
    """The account's usual for one slot, read once per judgement (a value: `at_level` lifts a
    copy)."""

    mu: float
    """Expected calls in the bucket."""
    spread: float
    """Spread of the calls count around `mu` (wobble + uncertainty of `mu`)."""
    share: list[float]
    """Usual shares (N_SHARES)."""
    weight: list[float]
    """Weight of each share, in parent calls."""
    wobble: list[float]
    """Bucket wobble per feature (calls: NB spread; parts: beta-binomial rho)."""
    prior: float = 0.0
    """The part of the calls spread that is the prior's possible error."""
    noise: float = 0.0
    """The part of the calls spread that is the estimate's Poisson noise."""
    high: float = 0.0
    """Calls judged against: the expectation on the account's busy days, or `mu` at the
    running day's own level (`at_level`), whichever is more."""
    busy: float = 0.0
    """The expectation on the account's busy days alone (what is learned against)."""


@dataclass(frozen=True, slots=True)
class Context:
    """What a judgement and the learning after it read besides the bucket."""

    baseline: Baseline
    segment: Segment
    slot: int
    config: ModelConfig
    enabled: tuple[bool, ...]
    day_wobble: float = 0.0
    """The account's day-to-day wobble of calls (how uncertain a slot seen on few days is)."""
    busy_day: float = 0.0
    """Calls on the account's busy days of the bucket's kind when its days swing between
    busy and quiet ones (campaigns switching on and off), else 0."""
    full_day: float = 0.0
    """Calls the running day was expected to bring."""


def usual(ctx: Context, *, calls_only: bool = False) -> Usual:
    """The account's usual in the bucket's slot, shrunk towards its segment's (only the
    calls expectation when `calls_only`: a quiet bucket needs no more)."""
    baseline, segment, cfg = ctx.baseline, ctx.segment, ctx.config
    prior_buckets = cfg.prior_strength * 3600.0 / cfg.bucket_s
    mu, off, noise, days = baseline.expected(ctx.slot, segment.profile, prior_buckets,
                                             ctx.day_wobble)  # fmt: skip
    own, prior, strength = baseline.wobble, segment.wobble, cfg.wobble_strength
    count = 1 if calls_only else N_FEATURES
    wobble = [
        min(max((own[f] + strength * max(prior[f], 0.0) / prior[N_FEATURES + f])
                / (own[N_FEATURES + f] + strength), 0.0), 4.0)
        for f in range(count)
    ]  # fmt: skip
    share: list[float] = []
    weight: list[float] = []
    if not calls_only:
        sums, priors, strength = baseline.shares, segment.shares, cfg.share_strength
        for i in range(N_SHARES):
            w = strength + sums[N_SHARES + i]
            share.append((strength * priors[i] / priors[N_SHARES + i] + sums[i]) / w)
            weight.append(w)
    spread = wobble[0] + off + noise + days
    busy = _busy(ctx, mu)
    return Usual(mu, spread, share, weight, wobble, off, noise, busy, busy)


def at_level(u: Usual, lift: float) -> Usual:
    """A copy of `u` with its calls judged against `mu` times the running day's own level
    `lift` when that is more than the busy-day expectation (an account whose whole day runs
    high is judged against that day, not against its usual ones); `u` is left as it was."""
    return replace(u, high=max(u.busy, u.mu * lift))


def at_day_level(
    verdict: Verdict, calls: int, window: tuple[float, float, float], u: Usual, lift: float,
    enabled: tuple[bool, ...],
) -> Verdict:  # fmt: skip
    """The final verdict as reported: calls (the bucket's and, while it runs, the recent
    window's: `window` is its z, observed and expected counts) judged against the running
    day's own level `lift` when that is above the busy-day expectation. What is learned,
    summed for drift and accepted stays judged against the usual: a day running high is
    not taught as a normal one."""
    if u.mu * lift <= u.busy:
        return verdict
    high = u.mu * lift
    z0 = count_z(calls, high, u.spread)
    if window[0] > 0.0:  # the window speaks for calls in this bucket
        z0 = max(z0, count_z(window[1], window[2] * high / max(u.mu, 1e-9), u.spread))
    z = (z0, *verdict.z[1:])
    tests = 2 * max(sum(enabled), 1)
    return Verdict(z, verdict.expected, verdict.usual, surprise(max(z), tests), verdict.window)


def _busy(ctx: Context, mu: float) -> float:
    """Expected calls in the bucket on one of the account's busy days: `mu` scaled up to
    the busy day, or the busy day shaped by the segment's hour profile, whichever is more
    (a slot first seen on a quiet day knows nothing of a busy one); `mu` for an account
    whose days do not swing."""
    if ctx.busy_day <= 0.0:
        return mu
    profile = ctx.segment.profile
    first = ctx.slot - ctx.slot % 24
    shape = profile[ctx.slot] * 24.0 / max(sum(profile[first : first + 24]), 1e-6)
    per_bucket = ctx.busy_day * ctx.config.bucket_s / 86400.0
    scaled = mu * ctx.busy_day / ctx.full_day if ctx.full_day > 0.0 else mu
    return max(mu, scaled, per_bucket * shape)


def judge(bucket: Bucket, ctx: Context, u: Usual, *, early: bool = False) -> Verdict:
    """Deviance residual of every enabled feature of `bucket`, and the bucket's surprise."""
    parts, parents = bucket.parts(), bucket.parents()
    enabled = ctx.enabled
    mu = u.mu
    z = [count_z(parts[0], u.high, u.spread) if enabled[0] else 0.0]
    expected, usual_ = [mu], [mu]
    for f in range(1, N_FEATURES):
        p, x = u.share[f - 1], parts[f]
        if early:
            index = _PARENT_SHARE[f]
            e = u.high * p * (u.share[index] if index >= 0 else 1.0)
            value = count_z(x, e, u.spread + 1.0 / max(p * u.weight[f - 1], 1e-9)) if x else 0.0
        else:
            e = parents[f] * p
            value = part_z(f, x, parents[f], u)
        z.append(value if enabled[f] else 0.0)
        expected.append(e)
        usual_.append(p)
    tests = max(sum(enabled), 1)
    return Verdict(tuple(z), tuple(expected), tuple(usual_), surprise(max(z), tests))


def part_z(f: int, x: float, n: float, u: Usual) -> float:
    """Upper-tail z of part `f`'s count `x` out of its parent count `n` against its usual
    share: beta-binomial with the account's wobble and the share's own uncertainty."""
    p = u.share[f - 1]
    if x <= n * p:
        return 0.0
    inflate = 1.0 + max(n - 1, 0) * u.wobble[f] + n / u.weight[f - 1]
    return share_z(x, n, p, inflate)


def window_z(f: int, observed: float, expected: float, u: Usual) -> float:
    """Upper-tail z of a feature's recent-window count against its window expectation: calls
    with the bucket's spread, parts as counts with their wobble and share uncertainty."""
    if observed <= expected:
        return 0.0
    if f == 0:
        return count_z(observed, expected * u.high / max(u.mu, 1e-9), u.spread)
    spread = u.wobble[f] + 1.0 / max(u.share[f - 1] * u.weight[f - 1], 1e-9)
    return count_z(observed, expected, spread)


def combined(
    verdict: Verdict, window: list[tuple[float, float, float]], enabled: tuple[bool, ...]
) -> Verdict:
    """The verdict with each feature's z the larger of its bucket's and its window's
    (`window`: z, observed, expected per feature), the surprise corrected for both looks."""
    z, sums = [], []
    for f, (wz, observed, expected) in enumerate(window):
        wins = wz > verdict.z[f]
        z.append(wz if wins else verdict.z[f])
        sums.append((observed, expected) if wins else (0.0, 0.0))
    tests = 2 * max(sum(enabled), 1)
    return Verdict(tuple(z), verdict.expected, verdict.usual, surprise(max(z), tests), tuple(sums))
