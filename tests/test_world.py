"""Simulator worlds: deterministic per seed, drawn from wide ranges, numbered like real plans."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter

import numpy as np
import phonenumbers
import pytest

from detector.errors import ConfigError
from detector.simulate.calls import INVALID, UNALLOCATED
from detector.simulate.world import World, draw_world, numbering
from detector.simulate.world.accounts import TIMEZONES
from detector.simulate.world.columns import Calls, concat
from detector.simulate.world.profiles import PROFILES
from detector.simulate.world.rhythm import SHAPES
from detector.simulate.world.stream import batches


def _digest(world: World, count: int = 5000) -> str:
    """A hash of the world's first `count` wire rows."""
    rows = list(itertools.islice(world.stream(), count))
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _valid(number: int) -> bool:
    """Whether `phonenumbers` calls the E.164 number valid."""
    return bool(phonenumbers.is_valid_number(phonenumbers.parse(numbering.e164(number), None)))


@pytest.fixture(scope="module")
def big_worlds() -> list[World]:
    """Three full-size worlds (drawing is cheap: no calls are generated)."""
    return [draw_world(seed) for seed in (1, 2, 3)]


@pytest.fixture(scope="module")
def small_calls() -> Calls:
    """All ordinary calls of a small world without incidents (20 accounts, 6 hours)."""
    world = draw_world(4, 20, 0.25, incidents_per_type=0)
    return concat(list(batches(world, list(world.accounts))))


def test_same_seed_same_world_and_rows() -> None:
    """Drawing a seed twice gives the same accounts, incidents and wire rows."""
    first, second = draw_world(7, 12, 1), draw_world(7, 12, 1)
    assert first == second
    assert _digest(first) == _digest(second)


def test_other_seed_other_world() -> None:
    """Another seed gives other accounts and other rows."""
    a, b = draw_world(7, 12, 1), draw_world(8, 12, 1)
    assert {x.auth_id for x in a.accounts}.isdisjoint({x.auth_id for x in b.accounts})
    assert _digest(a, 500) != _digest(b, 500)


def test_accounts_do_not_depend_on_world_size_or_length() -> None:
    """Account i of a world is the same in a bigger or longer world of that seed."""
    small, big = draw_world(5, 10, 2), draw_world(5, 40, 14)
    for a, b in zip(small.accounts, big.accounts[:10], strict=True):
        assert (a.auth_id, a.profile, a.talk, a.outcomes, a.reach) == (
            b.auth_id, b.profile, b.talk, b.outcomes, b.reach,
        )  # fmt: skip
        assert a.rhythm.days == b.rhythm.days[: len(a.rhythm.days)]


def test_sizes_span_ten_to_fifty_thousand_log_uniformly(big_worlds: list[World]) -> None:
    """Daily volumes cover 10–50,000 with a log-uniform spread (quartiles of log10 in place)."""
    sizes = np.array([a.daily_calls for w in big_worlds for a in w.accounts])
    assert sizes.min() >= 10
    assert sizes.max() <= 50_000
    assert sizes.min() < 12
    assert sizes.max() > 40_000
    logs = (np.log10(sizes) - 1) / np.log10(5000)
    assert np.allclose(np.quantile(logs, [0.25, 0.5, 0.75]), [0.25, 0.5, 0.75], atol=0.05)


def test_every_profile_shape_and_timezone_occurs(big_worlds: list[World]) -> None:
    """Over three worlds every business profile, hour shape and timezone is drawn."""
    accounts = [a for w in big_worlds for a in w.accounts]
    assert {a.profile for a in accounts} == {p.name for p in PROFILES}
    assert {a.rhythm.shape for a in accounts} == set(SHAPES)
    zones = Counter(a.timezone for a in accounts)
    assert set(zones) == set(TIMEZONES)
    assert zones["Asia/Kolkata"] / len(accounts) > 0.7


def test_answer_rates_weekends_and_misdials_span_their_ranges(big_worlds: list[World]) -> None:
    """Answer rates reach 20–95 %, some accounts close at weekends, misdials are 0.2–3 %."""
    accounts = [a for w in big_worlds for a in w.accounts]
    rates = [a.outcomes.answer_out for a in accounts] + [a.outcomes.answer_in for a in accounts]
    assert min(rates) < 0.25
    assert max(rates) > 0.93
    assert any(a.rhythm.weekend < 0.05 for a in accounts)
    assert any(a.rhythm.weekend > 0.9 for a in accounts)
    misdial = [a.outcomes.misdial for a in accounts]
    assert 0.002 <= min(misdial) < 0.003
    assert 0.025 < max(misdial) <= 0.03


def test_every_listed_number_block_is_valid_and_misdials_are_not() -> None:
    """300 draws of every ordinary block are valid numbers; misdial blocks never are."""
    rng = np.random.default_rng(0)
    ordinary = [numbering.IN_MOBILE, numbering.IN_LANDLINE, numbering.IN_TOLL_FREE,
                *numbering.FOREIGN.values(), numbering.WANGIRI_SOURCES]  # fmt: skip
    for mix in ordinary:
        for series in mix.series:
            numbers, _ = numbering.Mix((series,), (1.0,)).draw(rng, 300)
            assert all(_valid(int(n)) for n in numbers), series
    for mix in (numbering.UNALLOCATED, numbering.MALFORMED):
        numbers, _ = mix.draw(rng, 2000)
        assert not any(_valid(int(n)) for n in numbers)


def test_generated_calls_dial_valid_numbers_except_misdials(small_calls: Calls) -> None:
    """Every far party of ordinary traffic is valid; calls failing as misdials dial invalid ones."""
    misdial = np.isin(small_calls.outcome, [UNALLOCATED, INVALID])
    assert misdial.any()
    bad = {int(n) for n in np.unique(small_calls.remote[misdial])}
    good = {int(n) for n in np.unique(small_calls.remote[~misdial])}
    assert not any(_valid(n) for n in bad)
    sample = sorted(good)[:: max(1, len(good) // 3000)]
    assert all(_valid(n) for n in sample)
    assert all(_valid(int(n)) for n in np.unique(small_calls.local)[:500])


def test_realised_volume_follows_the_drawn_size() -> None:
    """Each account's calls over a day are within noise of what its rhythm expects."""
    world = draw_world(9, 15, 1, incidents_per_type=0)
    calls = concat(list(batches(world, list(world.accounts))))
    counts = np.bincount(calls.account, minlength=15)
    for account in world.accounts:
        expected = world.expected_calls([account.index])
        assert abs(counts[account.index] - expected) <= 5 * np.sqrt(expected) + 0.4 * expected


def test_world_parameters_are_checked() -> None:
    """A negative seed, no accounts or an empty span are refused with what to fix."""
    with pytest.raises(ConfigError, match="seed"):
        draw_world(-1)
    with pytest.raises(ConfigError, match="account"):
        draw_world(1, accounts=0)
    with pytest.raises(ConfigError, match="days"):
        draw_world(1, days=0)
