"""Incident kinds that change or remove an account's ordinary traffic instead of adding to it."""

from __future__ import annotations

import numpy as np

from detector.simulate.calls import (
    ANSWERED,
    BUSY,
    CANCELLED,
    CONGESTION,
    NO_ANSWER,
    TEMP_FAIL,
    CallSet,
    FloatArray,
    build,
    empty,
)
from detector.simulate.dialplan import random_mobiles
from detector.simulate.injection import Effect, Window, account_column, arrivals, pick

# A recast window carries at least this many calls per minute (× intensity), so an account too
# quiet to judge still shows the incident at a volume a detector's minimum-volume gate accepts.
FLOOR_PER_MINUTE = 1.0


def no_answer_surge(rng: np.random.Generator, window: Window, bg: CallSet) -> Effect:
    """The answer ratio collapses (most calls ring out) while volume stays normal."""
    shares = {ANSWERED: 0.08, NO_ANSWER: 0.75, BUSY: 0.1, CANCELLED: 0.07}
    return _recast(rng, window, bg, shares)


def route_failure(rng: np.random.Generator, window: Window, bg: CallSet) -> Effect:
    """Most calls fail with congestion-class causes (SWITCH_CONGESTION, temporary failure)."""
    shares = {CONGESTION: 0.5, TEMP_FAIL: 0.3, ANSWERED: 0.15, NO_ANSWER: 0.05}
    return _recast(rng, window, bg, shares)


def flatline(_rng: np.random.Generator, window: Window, bg: CallSet) -> Effect:
    """The account goes silent: its calls in the window disappear."""
    return Effect(window.covers(bg), empty())


def _recast(
    rng: np.random.Generator, window: Window, bg: CallSet, shares: dict[int, float]
) -> Effect:
    """Replace the window's calls (topped up to the floor rate) with new outcomes."""
    mask = window.covers(bg)
    old = bg.select(mask)
    have_per_min = len(old) * 60.0 / window.span_s
    extra_rate = max(0.0, FLOOR_PER_MINUTE * window.intensity - have_per_min)
    unit = Window(window.index, window.account, window.start, window.end, 1.0)
    extra = arrivals(rng, unit, extra_rate)
    k = int(extra.shape[0])
    starts = np.concatenate([old.start, extra])
    outbound = np.concatenate([old.outbound, np.ones(k, bool)])
    dids = pick(rng, window.account.dids, k)
    remotes = random_mobiles(rng, k)
    from_num = [*old.from_num.tolist(), *dids]
    to_num = [*old.to_num.tolist(), *remotes]
    keys = np.array(list(shares))
    probs = np.array(list(shares.values()))
    outcome = rng.choice(keys, size=starts.shape[0], p=probs / probs.sum()).astype(np.int64)
    profile = window.account.profile
    talk: FloatArray = rng.lognormal(
        np.log(profile.talk_median_s), profile.talk_sigma, size=int(starts.shape[0])
    )
    account = account_column(window, starts.shape[0])
    calls = build(account, outbound, starts, from_num=from_num, to_num=to_num, talk=talk,
                  outcome=outcome, rng=rng)  # fmt: skip
    return Effect(mask, calls)
