"""Ordinary traffic: inhomogeneous Poisson arrivals by hour of week in each account's timezone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from detector.simulate.calls import CallSet, FloatArray, build, draw_outcomes
from detector.simulate.dialplan import ORDINARY_FOREIGN, random_foreign, random_mobiles
from detector.simulate.profile import Account

# Relative call rate per local hour on a weekday: quiet before 09:00, peaks 10–12 and 15–17,
# a lunch dip, low after 21:00 (Indian commercial calling hours are 09:00–21:00).
WEEKDAY_SHAPE = np.array(
    [0.01, 0.005, 0.005, 0.005, 0.005, 0.01, 0.02, 0.04, 0.15, 0.65, 1.0, 1.0,
     0.8, 0.55, 0.75, 1.0, 1.0, 0.8, 0.6, 0.45, 0.3, 0.1, 0.04, 0.02]
)  # fmt: skip
WEEKEND_FACTOR = 0.3
BUCKET_S = 1800.0
FREQUENT_SHARE = 0.45
FOREIGN_SHARE = 0.004


def hour_weight(local: datetime) -> float:
    """Relative rate at a local time, normalised so a weekday's weights sum to 24.

    >>> round(hour_weight(datetime(2026, 3, 2, 3)), 3)  # Monday 03:00: almost nothing
    0.013
    """
    base = float(WEEKDAY_SHAPE[local.hour]) * 24.0 / float(WEEKDAY_SHAPE.sum())
    return base * (WEEKEND_FACTOR if local.weekday() >= 5 else 1.0)


def bucket_weights(start: datetime, duration: timedelta, timezone: str) -> FloatArray:
    """Expected share of a day's calls falling in each 30-minute bucket from `start`."""
    zone = ZoneInfo(timezone)
    total_s = duration.total_seconds()
    count = int(np.ceil(total_s / BUCKET_S))
    out = np.empty(count)
    for b in range(count):
        width = min(BUCKET_S, total_s - b * BUCKET_S)
        mid = start + timedelta(seconds=b * BUCKET_S + width / 2)
        out[b] = hour_weight(mid.astimezone(zone)) * width / 86_400.0
    return out


def generate_background(
    rng: np.random.Generator, accounts: list[Account], start: datetime, duration: timedelta
) -> CallSet:
    """Every account's ordinary calls over [start, start + duration)."""
    weights = {tz: bucket_weights(start, duration, tz) for tz in {a.timezone for a in accounts}}
    daily = np.array([a.daily_calls for a in accounts])
    expected = np.stack([weights[a.timezone] for a in accounts]) * daily[:, None]
    counts = rng.poisson(expected)
    acct_idx, bucket = np.nonzero(counts)
    reps = counts[acct_idx, bucket]
    account = np.repeat(acct_idx, reps).astype(np.int64)
    offset = np.repeat(bucket, reps) * BUCKET_S + rng.random(account.shape[0]) * BUCKET_S
    offset = np.minimum(offset, duration.total_seconds() - 1.0)
    starts = start.timestamp() + np.floor(offset)
    return _calls_for(rng, accounts, account, starts)


def _calls_for(
    rng: np.random.Generator, accounts: list[Account], account: np.ndarray, starts: FloatArray
) -> CallSet:
    """Direction, numbers, outcome and talk time for arrivals of the given accounts."""
    n = int(account.shape[0])
    out_share = np.array([a.profile.outbound_share for a in accounts])[account]
    outbound = rng.random(n) < out_share
    asr = np.array([a.asr for a in accounts])[account]
    outcome = draw_outcomes(rng, asr)
    mu = np.log(np.array([a.profile.talk_median_s for a in accounts]))[account]
    sigma = np.array([a.profile.talk_sigma for a in accounts])[account]
    talk = np.clip(rng.lognormal(mu, sigma), 1.0, 3 * 3600.0)
    local, remote = _numbers(rng, accounts, account, outbound)
    from_num = [lo if ob else re for lo, re, ob in zip(local, remote, outbound, strict=True)]
    to_num = [re if ob else lo for lo, re, ob in zip(local, remote, outbound, strict=True)]
    return build(
        account,
        outbound,
        starts,
        from_num=from_num,
        to_num=to_num,
        talk=talk,
        outcome=outcome,
        rng=rng,
    )


def _numbers(
    rng: np.random.Generator, accounts: list[Account], account: np.ndarray, outbound: np.ndarray
) -> tuple[list[str], list[str]]:
    """The account's own DID and the far party for every call."""
    n = int(account.shape[0])
    pick_did = rng.random(n)
    pick_freq = rng.random(n)
    use_freq = (rng.random(n) < FREQUENT_SHARE) & outbound
    use_foreign = (rng.random(n) < FOREIGN_SHARE) & outbound
    randoms = random_mobiles(rng, n)
    foreign = random_foreign(rng, ORDINARY_FOREIGN, n)
    local: list[str] = []
    remote: list[str] = []
    for i in range(n):
        acct = accounts[int(account[i])]
        local.append(acct.dids[int(pick_did[i] * len(acct.dids))])
        if use_foreign[i]:
            remote.append(foreign[i])
        elif use_freq[i]:
            remote.append(acct.frequent[int(pick_freq[i] * len(acct.frequent))])
        else:
            remote.append(randoms[i])
    return local, remote
