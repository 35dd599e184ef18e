"""Incident kinds that add fraudulent calls on top of an account's ordinary traffic."""

from __future__ import annotations

import numpy as np

from detector.simulate.calls import (
    ANSWERED,
    BUSY,
    CANCELLED,
    INVALID,
    NO_ANSWER,
    UNALLOCATED,
    CallSet,
    FloatArray,
    IntArray,
    build,
    concat,
    draw_outcomes,
)
from detector.simulate.dialplan import HIGH_RISK_PREFIXES, random_foreign, random_mobiles
from detector.simulate.injection import Effect, Window, account_column, arrivals, pick

WANGIRI_SOURCES = (*HIGH_RISK_PREFIXES, "+225", "+232", "+234")
PUMPING_PREFIXES = ("+44871", "+37190")
LONGEST_IRSF_S = 4.5 * 3600


def _outbound(
    rng: np.random.Generator,
    window: Window,
    starts: FloatArray,
    *,
    to: list[str],
    outcome: IntArray,
    talk: FloatArray,
    source: list[str] | None = None,
) -> CallSet:
    """Outbound calls of the window's account from its own numbers unless `source` is given."""
    n = int(starts.shape[0])
    sources = source if source is not None else pick(rng, window.account.dids, n)
    account = account_column(window, n)
    return build(account, np.ones(n, bool), starts, from_num=sources, to_num=to, talk=talk,
                 outcome=outcome, rng=rng)  # fmt: skip


def _mix(rng: np.random.Generator, n: int, shares: dict[int, float]) -> IntArray:
    """`n` outcomes drawn with the given shares."""
    keys = np.array(list(shares))
    probs = np.array(list(shares.values()))
    return rng.choice(keys, size=n, p=probs / probs.sum()).astype(np.int64)


def robocall(rng: np.random.Generator, window: Window, _bg: CallSet) -> Effect:
    """A burst of short (< 6 s talk) outbound calls to many distinct mobiles, low ASR."""
    starts = arrivals(rng, window, 10.0)
    n = int(starts.shape[0])
    outcome = _mix(rng, n, {ANSWERED: 0.15, NO_ANSWER: 0.3, BUSY: 0.1, CANCELLED: 0.45})
    talk: FloatArray = rng.uniform(1.0, 5.0, size=n)
    return Effect(
        None, _outbound(rng, window, starts, to=random_mobiles(rng, n), outcome=outcome, talk=talk)
    )


def irsf(rng: np.random.Generator, window: Window, _bg: CallSet) -> Effect:
    """Long answered calls to high-risk international ranges (+53, +371, +252, +882 …)."""
    starts = arrivals(rng, window, 1.5)
    n = int(starts.shape[0])
    outcome = _mix(rng, n, {ANSWERED: 0.85, NO_ANSWER: 0.15})
    talk = np.clip(rng.lognormal(np.log(1800.0), 0.7, size=n), 300.0, LONGEST_IRSF_S)
    if n:  # one call past any sane duration cap: 4.5 h, or the incident's `longest`
        outcome[0], talk[0] = ANSWERED, window.longest or LONGEST_IRSF_S
    to_num = random_foreign(rng, HIGH_RISK_PREFIXES, n)
    return Effect(None, _outbound(rng, window, starts, to=to_num, outcome=outcome, talk=talk))


def wangiri(rng: np.random.Generator, window: Window, _bg: CallSet) -> Effect:
    """One-ring inbound calls from many foreign numbers, then outbound callbacks to some."""
    split = window.start + 0.6 * window.span_s
    ring_window = Window(window.index, window.account, window.start, split, window.intensity)
    call_window = Window(window.index, window.account, split, window.end, window.intensity)
    starts = arrivals(rng, ring_window, 8.0)
    n = int(starts.shape[0])
    callers = random_foreign(rng, WANGIRI_SOURCES, n)
    inbound = build(account_column(window, n), np.zeros(n, bool), starts, from_num=callers,
                    to_num=pick(rng, window.account.dids, n), talk=np.zeros(n),
                    outcome=np.full(n, CANCELLED, np.int64),
                    ring=rng.uniform(1.0, 3.0, size=n))  # fmt: skip
    back = arrivals(rng, call_window, 1.0)
    m = int(back.shape[0])
    outcome = _mix(rng, m, {ANSWERED: 0.8, NO_ANSWER: 0.2})
    talk: FloatArray = rng.lognormal(np.log(90.0), 0.6, size=m)
    targets = pick(rng, callers, m) if n else random_foreign(rng, WANGIRI_SOURCES, m)
    callbacks = _outbound(rng, window, back, to=targets, outcome=outcome, talk=talk)
    return Effect(None, concat([inbound, callbacks]))


def traffic_pumping(rng: np.random.Generator, window: Window, _bg: CallSet) -> Effect:
    """Many long calls (mostly > 8 min) from one number to a few premium-range numbers."""
    starts = arrivals(rng, window, 1.5)
    n = int(starts.shape[0])
    targets = random_foreign(rng, PUMPING_PREFIXES, 3)
    outcome = _mix(rng, n, {ANSWERED: 0.92, NO_ANSWER: 0.08})
    talk: FloatArray = rng.lognormal(np.log(900.0), 0.4, size=n)
    source = [window.account.dids[0]] * n
    to = pick(rng, targets, n)
    return Effect(
        None, _outbound(rng, window, starts, to=to, outcome=outcome, talk=talk, source=source)
    )


def sequential_dialing(rng: np.random.Generator, window: Window, _bg: CallSet) -> Effect:
    """Consecutive destination numbers, mostly UNALLOCATED_NUMBER (3050) / invalid."""
    starts = arrivals(rng, window, 12.0)
    n = int(starts.shape[0])
    base = int(rng.integers(6_000_000, 10_000_000)) * 1000
    to_num = [f"+91{base + i}" for i in range(n)]
    outcome = _mix(
        rng, n, {UNALLOCATED: 0.55, INVALID: 0.1, NO_ANSWER: 0.2, ANSWERED: 0.1, BUSY: 0.05}
    )
    talk: FloatArray = rng.uniform(1.0, 20.0, size=n)
    return Effect(None, _outbound(rng, window, starts, to=to_num, outcome=outcome, talk=talk))


def cli_spoofing(rng: np.random.Generator, window: Window, _bg: CallSet) -> Effect:
    """Outbound calls whose caller id is invalid or equal to the destination."""
    starts = arrivals(rng, window, 2.0)
    n = int(starts.shape[0])
    to_num = random_mobiles(rng, n)
    junk = [f"+91{int(x)}" for x in rng.integers(10_000, 100_000, size=n)]
    self_call = (rng.random(n) < 0.5).tolist()
    from_num = [t if s else j for t, s, j in zip(to_num, self_call, junk, strict=True)]
    outcome = draw_outcomes(rng, np.full(n, window.account.asr))
    talk: FloatArray = rng.lognormal(np.log(window.account.profile.talk_median_s), 0.8, size=n)
    return Effect(
        None, _outbound(rng, window, starts, to=to_num, outcome=outcome, talk=talk, source=from_num)
    )
