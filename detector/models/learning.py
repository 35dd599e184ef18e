"""What a judged bucket teaches the account's baseline and its segment, feature by feature.

A feature is learned from a bucket with full weight only when it looked normal there (its z
below `learn_below`, or for a part, one event fewer would be: see `unusual`; for calls also
not far *below* usual, so an outage is not learned as a quiet hour) and it is not drifting
up (its CUSUM, or its running day's, below half its threshold: `day.drifting`); otherwise with
`unusual_weight` (a tenth): an anomaly, or a ramp in progress, barely moves the reference
it is judged against, so its repeat is still an anomaly, while a lasting change (a campaign
that switched on, a new shift pattern) is absorbed within days instead of alerting forever.
Other features of the same bucket learn with their own weight (a burst of calls with a
normal international share teaches the share). The wobble (overdispersion) learns from
every bucket except an unusual *excess* (the side the model alerts on: one outlier's squared
excess would widen it for weeks, the way a learned variance absorbs what it should flag), each
winsorized at `WINSOR` standard deviations; deficits count, so an account whose dialer
campaigns switch off for days learns how much its volume swings.
Parent shares (answered and outbound among calls) follow the calls feature, the talk-time
fit follows the long-call feature; new caller ids and trunks join the known set whatever the
bucket looked like (a caller id is new once: a pool of them shows in its first buckets, and a
legitimate rarely used DID does not alert every time it is used).
"""

from __future__ import annotations

import math

from detector.models.counts import count_deviance
from detector.models.features import N_FEATURES, Bucket, remember
from detector.models.judge import (
    ANSWERED_SHARE,
    OUTBOUND_SHARE,
    Context,
    Usual,
    Verdict,
    part_z,
    window_z,
)

MIN_LEVEL_BUCKETS = 96
"""An account teaches its segment's hour profile once its level spans a day of buckets."""

WINSOR = 4.0
"""A bucket teaches the wobble at most a deviation of this many standard deviations."""

SURE_PRIOR = 0.12
"""Calls teach the wobble only from buckets whose expectation no longer leans on a prior
(its possible error at most this share of the spread: about two days of the slot's own)."""

LONG, NEW_CALLER = 4, 7
"""Feature indexes with side effects when learned."""


def learn_bucket(
    bucket: Bucket, verdict: Verdict, ctx: Context, u: Usual, frozen: tuple[bool, ...],
    *, warm: bool = True,
) -> None:  # fmt: skip
    """Fold `bucket` into the baseline and segment; `frozen[f]`: feature f is drifting.

    Each feature with its weight (`weights`). Two shares wait for what defines them: long
    calls for the talk-time fit (a call is long only once the fit has `MIN_TALK_CALLS`), new
    callers for the end of the warm-up (until then every caller id is new, and learning that
    would blind the feature for weeks).
    """
    parts, parents = bucket.parts(), bucket.parents()
    limit = ctx.config.learn_below
    excess = [unusual(parts[f], parents[f], verdict, u, f, limit) for f in range(N_FEATURES)]
    weight = weights(bucket, excess, ctx, u, frozen)
    learn_calls(parts[0], ctx, u, weight[0], wobble=not excess[0])
    if parts[0]:
        _fold(ctx, u, ANSWERED_SHARE, bucket.answered, parts[0], 0, weight[0])
        _fold(ctx, u, OUTBOUND_SHARE, bucket.outbound, parts[0], 0, weight[0])
    defined = (ctx.baseline.long_s() != math.inf, warm)
    for f in range(1, N_FEATURES):
        n = parents[f]
        if (f == LONG and not defined[0]) or (f == NEW_CALLER and not defined[1]):
            continue
        if n:
            _fold(ctx, u, f - 1, parts[f], n, f if not excess[f] else 0, weight[f])
    ctx.baseline.learn_talk(bucket.talked, bucket.log_talk, bucket.log_talk2, weight[LONG])
    for bit in bucket.new_bits:  # a caller id is new once: the next calls from it are not
        remember(ctx.baseline.callers, bit)


def weights(
    bucket: Bucket, excess: list[bool], ctx: Context, u: Usual, frozen: tuple[bool, ...]
) -> list[float]:
    """Per feature: 1 when it looked normal in the bucket, `unusual_weight` when it was an
    unusual excess (`excess[f]`, see `unusual`; for calls also far below usual) or drifting."""
    cfg = ctx.config
    low = -count_deviance(bucket.attempts, u.mu, u.spread)
    out = []
    for f in range(N_FEATURES):
        normal = not excess[f] and not frozen[f]
        if f == 0:
            normal = normal and low < cfg.learn_below
        out.append(1.0 if normal else cfg.unusual_weight)
    return out


def unusual(x: int, n: int, verdict: Verdict, u: Usual, f: int, limit: float) -> bool:
    """Whether feature `f`, counted `x` times of its parent's `n` in the bucket, was an unusual
    excess there (learned with a tenth, and not into the wobble): z at or beyond `limit`, and
    for a part, one event fewer would still be (in the bucket, or in the recent window when
    that look made z).

    The usual share is a mean, and learning an upper tail with a tenth of the weight takes
    out what that tail carries of it: from a count x on, a Poisson tail carries P(X >= x - 1)
    of the mean. For a rare part (a bucket expecting under about 0.05 failed calls) a single
    event is already beyond 2 standard deviations, so that tail held every event and the share
    was learned at a fraction of its value (a 1.8 % failure share as 0.4 %), and ordinary days
    then added up to a drift. With the count one fewer also unusual, the tail learned with a
    tenth carries only about what it should (a few % of the mean). Not for new caller ids:
    an id is new once (the known set learns it), so their share is no steady rate to
    estimate but the churn of the account's first days, falling as its ids become known;
    each new one stays unusual.
    """
    if verdict.z[f] < limit:
        return False
    if f in (0, NEW_CALLER):
        return True
    observed, expected = verdict.window[f] if verdict.window else (0.0, 0.0)
    if expected > 0.0:
        return window_z(f, observed - 1.0, expected, u) >= limit
    return part_z(f, x - 1.0, n, u) >= limit


def learn_calls(
    calls: int, ctx: Context, u: Usual, weight: float = 1.0, *, wobble: bool = True
) -> None:
    """Fold a bucket's calls (0 for a quiet one) into its slot and the level (with `weight`)
    and, unless it was an unusual excess, into the wobble (see `winsorized`)."""
    baseline, segment = ctx.baseline, ctx.segment
    mu = u.mu
    if wobble and u.prior <= SURE_PRIOR:
        variance = mu + u.spread * mu * mu
        known = mu + (u.spread - u.wobble[0] - u.prior) * mu * mu  # chance, the mean's noise
        excess, scale = winsorized(calls - mu, variance) + variance - known, mu * mu
        baseline.learn_wobble(0, excess, scale)
        segment.learn_wobble(0, excess, scale)
    level = baseline.level
    if baseline.level_count >= MIN_LEVEL_BUCKETS and level > 0.0 and weight >= 1.0:
        segment.learn_slot(ctx.slot, calls / level)
    baseline.learn_level(ctx.slot, calls, weight)


def winsorized(deviation: float, variance: float) -> float:
    """A deviation's excess over the expected variance, at most `WINSOR`² times it.

    >>> winsorized(3.0, 4.0), winsorized(100.0, 4.0)
    (5.0, 60.0)
    """
    return min(deviation * deviation, WINSOR * WINSOR * variance) - variance


def _fold(
    ctx: Context, u: Usual, i: int, count: int, parent: int, wobble: int, weight: float
) -> None:
    baseline, segment = ctx.baseline, ctx.segment
    if wobble:
        p = u.share[i]
        binomial = parent * p * (1.0 - p)
        variance = binomial * (1.0 + max(parent - 1, 0) * u.wobble[wobble])
        excess = winsorized(count - parent * p, variance) + variance - binomial
        scale = binomial * (parent - 1)
        baseline.learn_wobble(wobble, excess, scale)
        segment.learn_wobble(wobble, excess, scale)
    baseline.learn_share(i, count, parent, weight)
    segment.learn_share(i, count, parent, weight)
