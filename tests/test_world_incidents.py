"""World incidents change what their labels say, at the graded intensity.

Each check compares the incident's account in a world with the same account in the same world
drawn without incidents: background draws are independent of incidents, so the difference is
exactly what the incident did.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np
import pytest

from detector.simulate.calls import ANSWERED, CANCELLED, CONGESTION, NO_ANSWER, TEMP_FAIL
from detector.simulate.world import Incident, World, draw_world, numbering
from detector.simulate.world.columns import Calls, concat
from detector.simulate.world.grades import GRADES, MULTIPLIERS, grade_of
from detector.simulate.world.kinds import KINDS
from detector.simulate.world.norms import p99_talk
from detector.simulate.world.profiles import BANDS
from detector.simulate.world.stream import batches

SEED, ACCOUNTS, DAYS = 21, 80, 3.0
Pair = tuple[World, dict[int, Calls], dict[int, Calls]]


@pytest.fixture(scope="module")
def pair() -> Pair:
    """A world, and the calls of its incident accounts with and without the incidents."""
    world = draw_world(SEED, ACCOUNTS, DAYS)
    clean = draw_world(SEED, ACCOUNTS, DAYS, incidents_per_type=0)
    accounts = sorted({i.account for i in world.incidents})
    return world, _by_account(world, accounts), _by_account(clean, accounts)


def _by_account(world: World, accounts: list[int]) -> dict[int, Calls]:
    calls = concat(list(batches(world, [world.accounts[i] for i in accounts])))
    return {i: calls.select(calls.account == i) for i in accounts}


def _window(calls: Calls, incident: Incident) -> Calls:
    return calls.select(incident.covers(calls))


def _incidents(world: World, kind: str) -> list[Incident]:
    found = [i for i in world.incidents if i.type == kind]
    assert found, kind
    return found


def _keys(calls: Calls) -> np.ndarray:
    return calls.uid[:, :8].copy().view(np.uint64).ravel()


def _by_key(calls: Calls) -> Calls:
    """The calls sorted by call id, so two versions of one account line up."""
    return calls.select(np.argsort(_keys(calls)))


def _in(numbers: np.ndarray, mix: numbering.Mix) -> np.ndarray:
    text = numbers.astype(str)
    return np.array([any(t.startswith(s.prefix) for s in mix.series) for t in text], bool)


def test_every_kind_is_placed_with_its_grade(pair: Pair) -> None:
    """Each registered kind that fits in the world's days (the under-threshold kinds need a
    few days of history first) has incidents whose grade is their dial against their line."""
    world, _, _ = pair
    fits = {n for n, k in KINDS.items() if k.earliest_s + k.durations[0] <= DAYS * 86_400}
    assert {i.type for i in world.incidents} == fits
    assert len(fits) >= 13
    for incident in world.incidents:
        assert incident.grade == grade_of(incident.dial, incident.line)
        assert world.start_s + 2 * 3600 <= incident.start < incident.end <= world.end_s


def test_grades_and_bands_over_full_worlds() -> None:
    """Per type, a 500-account world has 4 clear, 1 near and 1 subtle incidents, every size
    band gets each type, and dial/line ratios sit in their grade's range."""
    for seed in (1, 2):
        world = draw_world(seed)
        per_type: dict[str, Counter[str]] = defaultdict(Counter)
        bands: dict[str, set[str]] = defaultdict(set)
        for incident in world.incidents:
            per_type[incident.type][incident.grade] += 1
            bands[incident.type].add(incident.band)
            lo, hi = MULTIPLIERS[incident.grade]
            assert (
                lo * 0.8 <= incident.dial / incident.line <= hi * 1.1 or incident.grade == "clear"
            )
        assert all(c == Counter({"clear": 4, "near": 1, "subtle": 1}) for c in per_type.values())
        assert all(b == set(BANDS) for b in bands.values())
        assert {g for c in per_type.values() for g in c} == set(GRADES)


def _hours(incident: Incident) -> float:
    return (incident.end - incident.start) / 3600


def _count(calls: Calls, incident: Incident, mask_of: Callable[[Calls], np.ndarray]) -> int:
    """How many calls of the window match `mask_of(window calls)`."""
    return int(mask_of(_window(calls, incident)).sum())


def test_robocall_adds_its_labelled_rate_of_short_answered_calls(pair: Pair) -> None:
    """The extra short answered outbound calls per hour equal the label's dial."""
    world, hit, clean = pair
    short = lambda c: (c.outcome == ANSWERED) & (c.talk < 6) & c.outbound  # noqa: E731
    for inc in _incidents(world, "robocall"):
        extra = _count(hit[inc.account], inc, short) - _count(clean[inc.account], inc, short)
        assert extra / _hours(inc) == pytest.approx(inc.dial, rel=0.02)


def test_irsf_spends_its_labelled_amount_on_sinks(pair: Pair) -> None:
    """Spend on IRSF sinks is the dial to within one minute's rate, on the same side of the
    analyst's line; the clean account never calls a sink."""
    world, hit, clean = pair
    for inc in _incidents(world, "irsf"):
        calls = _window(hit[inc.account], inc)
        sink = _in(calls.remote, numbering.IRSF_SINKS)
        spend = numbering.costs(calls.talk, calls.rate, calls.outbound)[sink & (calls.talk > 0)]
        assert abs(spend.sum() - inc.dial) <= 300
        assert (spend.sum() >= inc.line) == (inc.dial >= inc.line)
        assert not _in(_window(clean[inc.account], inc).remote, numbering.IRSF_SINKS).any()


def test_traffic_pumping_makes_its_count_of_long_calls_to_few_numbers(pair: Pair) -> None:
    """Answered calls of 8+ minutes to premium sinks number the dial, to at most 3 numbers."""
    world, hit, _ = pair
    for inc in _incidents(world, "traffic_pumping"):
        calls = _window(hit[inc.account], inc)
        long = _in(calls.remote, numbering.PUMPING_SINKS) & (calls.talk >= 480)
        assert long.sum() == inc.dial
        assert len(np.unique(calls.remote[long])) <= 3


def test_sequential_dialing_scans_its_count_of_consecutive_numbers(pair: Pair) -> None:
    """The longest run of consecutive dialled numbers in the window is the dial."""
    world, hit, _ = pair
    for inc in _incidents(world, "sequential_dialing"):
        numbers = np.unique(_window(hit[inc.account], inc).remote)
        breaks = np.flatnonzero(np.diff(numbers) != 1)
        runs = np.diff(np.concatenate([[-1], breaks, [len(numbers) - 1]]))
        assert runs.max() == inc.dial


def test_cli_spoofing_sends_its_count_of_spoofed_caller_ids(pair: Pair) -> None:
    """Calls whose caller id is the callee's number or a short stub number the dial."""
    world, hit, clean = pair
    spoofed = lambda c: (c.local == c.remote) | (c.local < 10**8)  # noqa: E731
    for inc in _incidents(world, "cli_spoofing"):
        assert _count(hit[inc.account], inc, spoofed) == inc.dial
        assert _count(clean[inc.account], inc, spoofed) == 0


def test_wangiri_rings_once_from_its_count_of_foreign_numbers(pair: Pair) -> None:
    """Distinct Wangiri sources ring the account once for the dial, then get called back."""
    world, hit, _ = pair
    for inc in _incidents(world, "wangiri"):
        calls = _window(hit[inc.account], inc)
        source = _in(calls.remote, numbering.WANGIRI_SOURCES)
        rings = source & ~calls.outbound & (calls.outcome == CANCELLED) & (calls.ring <= 3)
        assert len(np.unique(calls.remote[rings])) == rings.sum() == inc.dial
        back = source & calls.outbound & np.isin(calls.remote, calls.remote[rings])
        assert back.sum() == inc.param("callbacks")


def test_outbound_wangiri_rings_its_count_of_foreign_numbers_once(pair: Pair) -> None:
    """The account adds the dial's count of one-ring calls to distinct foreign numbers."""
    world, hit, clean = pair
    one_ring = lambda c: (  # noqa: E731
        c.outbound & (c.outcome == CANCELLED) & (c.ring <= 3) & (c.remote // 10**10 != 91)
    )
    for inc in _incidents(world, "wangiri_outbound"):
        extra = _count(hit[inc.account], inc, one_ring) - _count(clean[inc.account], inc, one_ring)
        assert extra == inc.dial


def _flipped(world: World, pair: Pair, kind: str, to: list[int]) -> None:
    """Calls whose outcome changed are in the window and direction, at about the dial's rate."""
    _, hit, clean = pair
    for inc in _incidents(world, kind):
        before, after = _by_key(clean[inc.account]), _by_key(hit[inc.account])
        assert np.array_equal(_keys(before), _keys(after))
        changed = before.outcome != after.outcome
        assert np.isin(after.outcome[changed], to).all()
        inside = inc.covers(before)
        direction = {"outbound": before.outbound, "inbound": ~before.outbound}
        inside &= direction.get(str(inc.direction), np.ones(len(before), bool))
        assert not (changed & ~inside).any()
        eligible = inside & (before.outcome == ANSWERED if kind == "no_answer_surge" else inside)
        n = int(eligible.sum())
        if n >= 20:
            share = (changed & eligible).sum() / n
            assert abs(share - inc.dial) <= 4 * np.sqrt(inc.dial * (1 - inc.dial) / n) + 0.02


def test_no_answer_surge_rings_out_its_share_of_answered_calls(pair: Pair) -> None:
    """Answered calls of the window and direction ring out at the dial's rate, nothing else."""
    _flipped(pair[0], pair, "no_answer_surge", [NO_ANSWER])


def test_route_failure_fails_its_share_of_calls(pair: Pair) -> None:
    """Calls of the window and direction fail with congestion causes at the dial's rate."""
    _flipped(pair[0], pair, "route_failure", [CONGESTION, TEMP_FAIL])


def test_flatline_silences_the_window_and_nothing_else(pair: Pair) -> None:
    """No call starts in the window; outside it the account's calls are untouched."""
    world, hit, clean = pair
    for inc in _incidents(world, "flatline"):
        before, after = _by_key(clean[inc.account]), _by_key(hit[inc.account])
        assert not inc.covers(after).any()
        assert np.array_equal(_keys(after), _keys(before.select(~inc.covers(before))))
        assert inc.covers(before).sum() > 0.3 * inc.dial


def test_duration_spike_adds_about_its_count_of_calls_past_the_p99(pair: Pair) -> None:
    """Answered calls longer than the account's p99 talk time grow by about the dial."""
    world, hit, clean = pair
    for inc in _incidents(world, "duration_spike"):
        p99 = p99_talk(world.accounts[inc.account])
        long = lambda c, p=p99: (c.outcome == ANSWERED) & (c.talk > p)  # noqa: E731
        extra = _count(hit[inc.account], inc, long) - _count(clean[inc.account], inc, long)
        assert abs(extra - inc.dial) <= 4 * np.sqrt(inc.dial) + 2


def test_a_duration_spike_label_lasts_until_its_longest_call_has_ended(pair: Pair) -> None:
    """A duration spike's label ends after its last call ends, not when that call starts."""
    world, hit, _ = pair
    for inc in _incidents(world, "duration_spike"):
        label = inc.label()
        calls = _window(hit[inc.account], inc)
        last_end = float(calls.end.max())
        assert last_end > inc.end
        assert label.end.timestamp() >= last_end
