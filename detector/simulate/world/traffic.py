"""An account's ordinary calls over one time chunk, drawn as numpy columns.

Per 15-minute slot the count is Poisson with the rhythm's mean times the hour's gamma factor
(`rhythm.py`). Each call then draws its direction (the account's outbound share), how it ends
(route failure, misdial, answered at the direction's answer rate, else the unanswered mix),
talk and ring time, the account's DID (the first DIDs carry most calls) and the far party: a
repeat contact (popular ones more often), a foreign number (outbound: the international
share; inbound: callers from abroad), else a fresh domestic number. Misdials go to unallocated
or malformed numbers and fail at the switch with UNALLOCATED_NUMBER or INVALID_NUMBER_FORMAT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.simulate.calls import (
    ANSWERED,
    BUSY,
    CANCELLED,
    CONGESTION,
    INVALID,
    NO_ANSWER,
    REJECTED,
    TEMP_FAIL,
    UNALLOCATED,
)
from detector.simulate.world import numbering, seeds
from detector.simulate.world.accounts import Outcomes, Talk, WorldAccount
from detector.simulate.world.columns import BoolArray, Calls, FloatArray, IntArray, assemble
from detector.simulate.world.rhythm import SLOT_S, SlotTable, slot_means

LONGEST_ORDINARY_S = 3 * 3600.0
LONGEST_RING_S = 60.0
"""An answered call rings at most this long."""
SHORT_S = 6.0
UNANSWERED_CODES = np.array([NO_ANSWER, BUSY, CANCELLED, REJECTED], np.int64)


@dataclass(frozen=True)
class Book:
    """An account's numbers: its DIDs (with the inbound rate of each) and repeat contacts."""

    dids: IntArray
    did_rates: FloatArray
    contacts: IntArray
    contact_rates: FloatArray
    domestic: numbering.Mix
    foreign: numbering.Mix


def book(seed: int, account: WorldAccount) -> Book:
    """The account's number pools, drawn from their own stream."""
    rng = seeds.stream(seed, seeds.NUMBERS, account.index)
    reach = account.reach
    domestic = numbering.domestic_mix(reach.landline, reach.toll_free)
    foreign = numbering.foreign_mix(reach.focus, reach.focus_share)
    own = numbering.domestic_mix(0.4, 0.5 if reach.toll_free_dids else 0.0)
    dids, own_rates = own.draw(rng, reach.dids)
    toll_free = own_rates == 0.0  # the toll-free block is the only free one to call
    did_rates = np.where(toll_free, numbering.TOLL_FREE_INBOUND_RATE, numbering.INBOUND_RATE)
    abroad = rng.random(reach.contacts) < reach.international
    contacts, contact_rates = domestic.draw(rng, reach.contacts)
    far, far_rates = foreign.draw(rng, int(abroad.sum()))
    contacts[abroad], contact_rates[abroad] = far, far_rates
    return Book(dids, did_rates, contacts, contact_rates, domestic, foreign)


def background(
    seed: int, account: WorldAccount, pools: Book, table: SlotTable, start: float,
    chunk: int, slots: tuple[int, int],
) -> Calls:  # fmt: skip
    """The account's ordinary calls starting in slots [first, stop) of the world."""
    rng = seeds.stream(seed, seeds.BACKGROUND, account.index, chunk)
    first, stop = slots
    means = slot_means(account.rhythm, table, start, first, stop)
    k = account.rhythm.burstiness
    hour_noise = rng.gamma(k, 1.0 / k, size=(stop - first + 3) // 4)
    counts = rng.poisson(means * np.repeat(hour_noise, 4)[: stop - first])
    n = int(counts.sum())
    if n == 0:
        return _none(rng, account)
    slot_start = start + np.arange(first, stop) * SLOT_S
    starts = np.repeat(slot_start, counts) + rng.random(n) * SLOT_S
    outbound = rng.random(n) < account.outbound_share
    outcome = outcomes(rng, account.outcomes, outbound)
    did = np.floor(len(pools.dids) * rng.random(n) ** 2).astype(np.int64)
    remote, rate = far_party(rng, account, pools, outbound, outcome)
    rate = np.where(outbound, rate, pools.did_rates[did])
    return assemble(
        rng, account.index, outbound, starts,
        ring=ring_times(rng, outcome, account.outcomes), talk=talk_times(rng, account.talk, n),
        outcome=outcome, local=pools.dids[did], remote=remote, rate=rate,
        trunks=len(account.trunks),
    )  # fmt: skip


def _none(rng: np.random.Generator, account: WorldAccount) -> Calls:
    """An empty batch (drawn through `assemble` so the types match)."""
    z = np.zeros(0)
    i = np.zeros(0, np.int64)
    return assemble(rng, account.index, np.zeros(0, bool), z, ring=z, talk=z, outcome=i,
                    local=i, remote=i, rate=z, trunks=1)  # fmt: skip


def outcomes(rng: np.random.Generator, law: Outcomes, outbound: BoolArray) -> IntArray:
    """How each call ends: route failure, misdial (outbound), answered, or the unanswered mix."""
    n = int(outbound.shape[0])
    fail = rng.random(n) < law.route_failure
    misdial = outbound & (rng.random(n) < law.misdial) & ~fail
    answer_p = np.where(outbound, law.answer_out, law.answer_in)
    answered = (rng.random(n) < answer_p) & ~fail & ~misdial
    other = UNANSWERED_CODES[rng.choice(4, size=n, p=np.asarray(law.unanswered))]
    out = np.where(answered, ANSWERED, other)
    out = np.where(misdial, np.where(rng.random(n) < 0.6, UNALLOCATED, INVALID), out)
    result: IntArray = np.where(fail, np.where(rng.random(n) < 0.5, CONGESTION, TEMP_FAIL), out)
    return result


def talk_times(rng: np.random.Generator, law: Talk, n: int) -> FloatArray:
    """Talk seconds if answered: a share under 6 s, else lognormal capped at 3 h."""
    short = rng.random(n) < law.short_share
    body = np.clip(rng.lognormal(np.log(law.median_s), law.sigma, n), 1.0, LONGEST_ORDINARY_S)
    result: FloatArray = np.where(short, rng.uniform(0.5, SHORT_S - 0.51, n), body)
    return result


def ring_times(rng: np.random.Generator, outcome: IntArray, law: Outcomes) -> FloatArray:
    """Ring seconds by outcome: answered ~ the account's median, no answer to its timer."""
    n = int(outcome.shape[0])
    ring = rng.uniform(0.0, 2.0, n)  # failures and misdials end at once
    answered = np.clip(rng.lognormal(np.log(law.ring_median_s), 0.4, n), 1.0, LONGEST_RING_S)
    ring = np.where(outcome == ANSWERED, answered, ring)
    ring = np.where(outcome == NO_ANSWER, law.timeout_s - rng.uniform(0.0, 3.0, n), ring)
    ring = np.where(outcome == BUSY, rng.uniform(0.0, 3.0, n), ring)
    ring = np.where(outcome == CANCELLED, rng.uniform(2.0, min(law.timeout_s, 25.0), n), ring)
    result: FloatArray = np.where(outcome == REJECTED, rng.uniform(0.0, 6.0, n), ring)
    return result


def far_party(
    rng: np.random.Generator,
    account: WorldAccount,
    pools: Book,
    outbound: BoolArray,
    outcome: IntArray,
) -> tuple[IntArray, FloatArray]:
    """The other party of each call and the outbound per-minute rate to it."""
    n = int(outbound.shape[0])
    reach = account.reach
    remote, rate = pools.domestic.draw(rng, n)
    abroad_p = np.where(outbound, reach.international, reach.inbound_international)
    abroad = rng.random(n) < abroad_p
    far, far_rate = pools.foreign.draw(rng, int(abroad.sum()))
    remote[abroad], rate[abroad] = far, far_rate
    repeat = rng.random(n) < reach.repeat
    pick = np.floor(len(pools.contacts) * rng.random(int(repeat.sum())) ** 2).astype(np.int64)
    remote[repeat], rate[repeat] = pools.contacts[pick], pools.contact_rates[pick]
    for code, mix in ((UNALLOCATED, numbering.UNALLOCATED), (INVALID, numbering.MALFORMED)):
        wrong = outcome == code
        if wrong.any():
            remote[wrong], rate[wrong] = mix.draw(rng, int(wrong.sum()))
    return remote, rate
