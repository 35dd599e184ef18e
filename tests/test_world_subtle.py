"""The under-threshold world incidents change their account's own behaviour by their dial.

As in `test_world_incidents`, each incident account is compared with itself in the same world
drawn without incidents (background draws do not depend on incidents).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detector.simulate.calls import ANSWERED
from detector.simulate.world import Incident, World, draw_world, numbering
from detector.simulate.world.columns import Calls, concat
from detector.simulate.world.kinds import KINDS
from detector.simulate.world.stream import batches
from detector.simulate.world.subtle import NIGHT_HOURS, SUBTLE_TYPES

SEED, ACCOUNTS, DAYS = 3, 40, 8.0
DAY = 86_400.0
Pair = tuple[World, dict[int, Calls], dict[int, Calls]]


@pytest.fixture(scope="module")
def pair() -> Pair:
    """A world with one incident of each kind, and its incident accounts' calls with and
    without the incidents."""
    world = draw_world(SEED, ACCOUNTS, DAYS)
    clean = draw_world(SEED, ACCOUNTS, DAYS, incidents_per_type=0)
    accounts = sorted({i.account for i in world.incidents if i.type in SUBTLE_TYPES})
    return world, _by_account(world, accounts), _by_account(clean, accounts)


def _by_account(world: World, accounts: list[int]) -> dict[int, Calls]:
    calls = concat(list(batches(world, [world.accounts[i] for i in accounts])))
    return {i: calls.select(calls.account == i) for i in accounts}


def _one(world: World, kind: str) -> Incident:
    found = [i for i in world.incidents if i.type == kind]
    assert found, kind
    return found[0]


def _between(calls: Calls, t0: float, t1: float) -> Calls:
    """The calls starting in [t0, t1), ordered by call id (so two versions line up)."""
    inside = calls.select((calls.start >= t0) & (calls.start < t1))
    return inside.select(np.argsort(_keys(inside)))


def _keys(calls: Calls) -> np.ndarray:
    return calls.uid[:, :8].copy().view(np.uint64).ravel()


def test_the_kinds_are_registered_after_the_others() -> None:
    """The under-threshold kinds come last in the registry, so earlier kinds keep their draws."""
    assert tuple(KINDS)[-len(SUBTLE_TYPES) :] == SUBTLE_TYPES


def test_volume_drift_grows_to_its_dial_on_the_last_day(pair: Pair) -> None:
    """Extra calls ramp up: few on the first day, the dial's share of usual on the last."""
    world, hit, clean = pair
    inc = _one(world, "volume_drift")
    first = (inc.start, inc.start + DAY)
    last = (inc.end - DAY, inc.end)
    extra = [len(_between(hit[inc.account], *w)) - len(_between(clean[inc.account], *w))
             for w in (first, last)]  # fmt: skip
    assert 0 <= extra[0] < extra[1]
    assert extra[1] / inc.usual == pytest.approx(inc.dial, rel=0.25)


def test_night_shift_adds_its_calls_at_night_on_two_nights(pair: Pair) -> None:
    """Exactly `dial` extra calls on each of two nights, all at 01:00-05:00 local."""
    world, hit, clean = pair
    inc = _one(world, "night_shift")
    extra = _between(hit[inc.account], inc.start, inc.end)
    extra = extra.select(~np.isin(_keys(extra), _keys(clean[inc.account])))
    zone = ZoneInfo(world.accounts[inc.account].timezone)
    hours = {datetime.fromtimestamp(t, zone).hour for t in extra.start.tolist()}
    days = {datetime.fromtimestamp(t, zone).date() for t in extra.start.tolist()}
    assert len(extra) == 2 * inc.dial
    assert hours <= set(range(*NIGHT_HOURS))
    assert len(days) == 2


def test_destination_mix_sends_its_share_of_domestic_calls_abroad(pair: Pair) -> None:
    """About `dial` of the window's domestic outbound calls go to one foreign market."""
    world, hit, clean = pair
    inc = _one(world, "destination_mix")
    before = _between(clean[inc.account], inc.start, inc.end)
    after = _between(hit[inc.account], inc.start, inc.end)
    domestic = before.outbound & (before.remote // 10**10 == 91)
    moved = domestic & (after.remote != before.remote)
    assert moved.sum() / domestic.sum() == pytest.approx(inc.dial, abs=0.1)
    focus = world.accounts[inc.account].reach.focus or ""
    market = sorted(set(numbering.FOREIGN) - {focus})[int(inc.param("market"))]
    prefixes = tuple(series.prefix for series in numbering.FOREIGN[market].series)
    assert all(str(n).startswith(prefixes) for n in after.remote[moved].tolist())
    assert np.array_equal(after.start, before.start)


def test_duration_creep_stretches_answered_calls_more_and_more(pair: Pair) -> None:
    """Answered calls talk longer by a factor ramping from 1 to 1 + slope; others unchanged."""
    world, hit, clean = pair
    inc = _one(world, "duration_creep")
    before = _between(clean[inc.account], inc.start, inc.end)
    after = _between(hit[inc.account], inc.start, inc.end)
    answered = (before.outcome == ANSWERED) & (before.talk >= 60) & (before.talk < 3000)
    ratio = after.talk[answered] / before.talk[answered]
    frac = (before.start[answered] - inc.start) / (inc.end - inc.start)
    assert np.allclose(ratio, 1.0 + inc.param("slope") * frac, rtol=0.02)
    assert np.array_equal(
        after.talk[~answered & (before.talk == 0)], before.talk[~answered & (before.talk == 0)]
    )
    last = before.start[answered] >= inc.end - DAY
    assert float(np.mean(ratio[last])) - 1.0 == pytest.approx(inc.dial, rel=0.15)


def test_caller_pool_sends_its_share_of_calls_from_new_caller_ids(pair: Pair) -> None:
    """About `dial` of the window's outbound calls carry one of a few never-used caller ids."""
    world, hit, clean = pair
    inc = _one(world, "caller_pool")
    before = _between(clean[inc.account], inc.start, inc.end)
    after = _between(hit[inc.account], inc.start, inc.end)
    known = set(clean[inc.account].local.tolist())
    fresh = after.outbound & ~np.isin(after.local, list(known))
    assert fresh.sum() / before.outbound.sum() == pytest.approx(inc.dial, abs=0.12)
    assert len(set(after.local[fresh].tolist())) <= inc.param("pool")
