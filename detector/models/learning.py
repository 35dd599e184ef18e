"""What a judged bucket teaches the account's baseline and its segment, feature by feature.

A feature is learned from a bucket only when it looked normal there (its z below
`learn_below`; for calls also not far *below* usual, so an outage is not learned as a
quiet hour) and its drift statistic is below half its threshold: an anomaly, or a ramp
in progress, never becomes the reference it is judged against. Other features of the same
bucket still learn (a burst of calls with a normal international share teaches the share).
Parent shares (answered and outbound among calls) follow the calls feature, the talk-time
fit follows the long-call feature, and new caller ids and trunks join the known set only
when the new-caller feature looked normal.
"""

from __future__ import annotations

import math

from detector.models.counts import count_deviance
from detector.models.features import N_FEATURES, Bucket, remember
from detector.models.judge import ANSWERED_SHARE, OUTBOUND_SHARE, Context, Usual, Verdict

MIN_LEVEL_BUCKETS = 96
"""An account teaches its segment's hour profile once its level spans a day of buckets."""

LONG, NEW_CALLER = 4, 7
"""Feature indexes with side effects when learned."""


def learn_bucket(
    bucket: Bucket, verdict: Verdict, ctx: Context, u: Usual, frozen: tuple[bool, ...],
    *, warm: bool = True,
) -> None:  # fmt: skip
    """Fold `bucket` into the baseline and segment; `frozen[f]`: feature f is drifting.

    Two shares wait for what defines them: long calls for the talk-time fit (a call is long
    only once the fit has `MIN_TALK_CALLS`), new callers for the end of the warm-up (until
    then every caller id is new, and learning that would blind the feature for weeks).
    """
    limit = ctx.config.learn_below
    z = verdict.z
    parts, parents = bucket.parts(), bucket.parents()
    low = -count_deviance(parts[0], u.mu, u.spread)  # an outage is not learned either
    if z[0] < limit and low < limit and not frozen[0]:
        learn_calls(parts[0], ctx, u)
        if parts[0]:
            _fold(ctx, u, ANSWERED_SHARE, bucket.answered, parts[0], wobble=0)
            _fold(ctx, u, OUTBOUND_SHARE, bucket.outbound, parts[0], wobble=0)
    defined = (ctx.baseline.long_s() != math.inf, warm)
    for f in range(1, N_FEATURES):
        n = parents[f]
        if (f == LONG and not defined[0]) or (f == NEW_CALLER and not defined[1]):
            continue
        if n and z[f] < limit and not frozen[f]:
            _fold(ctx, u, f - 1, parts[f], n, wobble=f)
    if z[LONG] < limit and not frozen[LONG]:
        ctx.baseline.learn_talk(bucket.talked, bucket.log_talk, bucket.log_talk2)
    if z[NEW_CALLER] < limit and not frozen[NEW_CALLER]:
        for bit in bucket.new_bits:
            remember(ctx.baseline.callers, bit)


def learn_calls(calls: int, ctx: Context, u: Usual) -> None:
    """Fold a bucket's calls (0 for a quiet one) into its slot, the level and the wobble."""
    baseline, segment = ctx.baseline, ctx.segment
    mu = u.mu
    excess, scale = (calls - mu) ** 2 - mu, mu * mu
    baseline.learn_wobble(0, excess, scale)
    segment.learn_wobble(0, excess, scale)
    level = baseline.level
    if baseline.level_count >= MIN_LEVEL_BUCKETS and level > 0.0:
        segment.learn_slot(ctx.slot, calls / level)
    baseline.learn_level(ctx.slot, calls)


def _fold(ctx: Context, u: Usual, i: int, count: int, parent: int, wobble: int) -> None:
    baseline, segment = ctx.baseline, ctx.segment
    if wobble:
        p = u.share[i]
        binomial = parent * p * (1.0 - p)
        excess, scale = (count - parent * p) ** 2 - binomial, binomial * (parent - 1)
        baseline.learn_wobble(wobble, excess, scale)
        segment.learn_wobble(wobble, excess, scale)
    baseline.learn_share(i, count, parent)
    segment.learn_share(i, count, parent)
