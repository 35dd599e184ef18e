"""The running day's own level: a day that runs high as a whole is judged as one day.

A dialer or voicebot runs campaigns on some days and calls at a tenth of that on others. One
whose first days were all off days has nothing in its history that says so, and its first
campaign day used to be reported bucket after bucket all morning (each bucket "calls 9×
usual"), as several alerts. Whole days swing together (the simulator and real traffic share a
day's mood across its hours), so each bucket is now judged against the day it is having:

- **The day's level** is its calls so far against its expected calls so far (local midnight
  on, quiet buckets included, as buckets end), shrunk towards 1 by a prior worth the more of
  an average hour's calls and the inverse of the account's day-to-day wobble (a Gamma prior on
  the day's factor, as in the negative binomial). A day running high lifts the expectation
  each later bucket's calls are judged against (never below 1: a quiet morning does not make
  an ordinary afternoon unusual).
- **As far as the account's days plausibly swing**: the lift stops at the ratio a whole day
  may run above its expectation before the day itself would be unusual at the warning level,
  given the account's day wobble (`counts.plausible_swing`: ×2.7 at a ±22 % day wobble, ×18 at
  ±100 %). A steady account jumping tenfold still has its buckets judged against a level far
  below the jump.
- **And how well the day wobble is known**: the day's residual is a Student-t value with as
  many degrees of freedom as the wobble was learned from days (the account's decayed learned
  days, and the segment's prior worth `DAY_WOBBLE_STRENGTH` squared expected calls: about a
  day for a 10-call account, nothing for a busy one). Two days cannot tell a steady account
  from a dialer whose first days were all off days: on worlds 7-10, 14 of the model's 26
  false alerts were such an account's first campaign day reported for its level (the
  segment's wobble, learned mostly from steady accounts, said ×3 was implausible). In its
  first days after the warm-up an account's day is not reported for its level and each
  bucket is judged against the day it is having; the limit tightens as its days are learned
  (at ±22 %: about ×30 with five learned days, ×6 with ten, ×4 with fourteen).
- **A day beyond that is reported once** ("calls 8× usual so far today"), with what the
  day's expectation may itself be off by (slots still leaning on their priors) added to the
  wobble; a level jump reported this way may be accepted as the account's new level, as a
  reported run of busy buckets is (`judgement._accept`).
- **A burst does not lift its own day**: a bucket's calls join the level with an unusual
  excess shrunk to `learn_below` standard deviations (as in the recent window), and a bucket
  already reported as extreme not at all; a few hours unlike the rest (a night shift) weigh
  as little as the calls they add against a whole hour's worth.
- Accounts whose days are known to swing (`frame.BUSY_RATIO`) keep being judged against
  their busy days, and the level is not used.

What is learned, summed for drift and accepted stays judged against the usual expectation
(`judge.at_day_level` only changes what the final judgement reports): a day running high is
not taught as a normal one.
"""

from __future__ import annotations

from detector.models.counts import plausible_swing, student_z
from detector.models.drift import Drift
from detector.models.frame import DAY_WOBBLE_STRENGTH
from detector.models.judge import Context, Usual


def strength(ctx: Context, wobble: float, per_hour: float) -> float:
    """Expected calls the day's prior level (1) counts for: the more of an average hour's
    calls (`per_hour` buckets of the account's level) and 1 / the day wobble."""
    return max(1.0 / max(wobble, 1e-6), per_hour * ctx.baseline.level, 1.0)


def freedom(drift: Drift) -> float:
    """Degrees of freedom of the account's day wobble: the days it was learned from (the
    segment's prior counting as `DAY_WOBBLE_STRENGTH` squared expected calls)."""
    return drift.wobble_days(DAY_WOBBLE_STRENGTH)


def swing(drift: Drift, wobble: float, z: float) -> float:
    """How far a whole day may run above its expectation before it is unusual at `z`, given
    the day `wobble` and how few days it was learned from (a Student-t residual)."""
    return plausible_swing(wobble, student_z(z, freedom(drift)))


def lift(drift: Drift, day: int, ctx: Context, per_hour: float, z: float) -> float:
    """The level local day `day` so far runs at (>= 1), at most `swing` of the account's day
    wobble at `z`; 1 for an account whose days are known to swing."""
    wobble = ctx.day_wobble
    level = drift.on_day(day, strength(ctx, wobble, per_hour))
    if ctx.busy_day > 0.0 or level <= 1.0:
        return 1.0
    return min(level, swing(drift, wobble, z))


def beyond(
    drift: Drift, day: int, ctx: Context, lifted: float, per_hour: float, z: float
) -> tuple[float, float, float] | None:
    """The day's calls, expected calls and wobble when its level runs beyond how far the
    account's days plausibly swing, counting what the expectation may be off by, and it was
    not reported yet; else None."""
    if drift.day_reported() or lifted < swing(drift, ctx.day_wobble, z):
        return None
    observed, expected, error = drift.on_day_totals()
    wobble = ctx.day_wobble + error
    if drift.on_day(day, strength(ctx, wobble, per_hour)) < swing(drift, wobble, z):
        return None
    return observed, expected, wobble


def joining(calls: float, u: Usual, z: float, limit: float) -> float:
    """The calls a judged bucket adds to its day's level: an excess beyond `limit` standard
    deviations (`z` > `limit`) shrunk to that many, as in the recent window."""
    return u.high + (calls - u.high) * limit / z if z > limit else calls
