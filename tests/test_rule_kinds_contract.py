"""One contract every rule kind must honour, run against every kind in the registry."""

from __future__ import annotations

import copyreg
import io
import pickle
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from detector.domain import CDR, Finding
from detector.rules.engine import RuleEngine, RulesState
from detector.rules.kinds import KINDS
from detector.rules.testing import make_cdr, ruleset_of
from detector.windows.positional import Positional, named_state

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
LOW = {"warning": 1, "critical": 3}
RULES: dict[str, dict[str, Any]] = {
    "threshold": {"window": "10m", "min_volume": 2, "thresholds": LOW},
    "ratio": {"where": {"status": "no_answer"}, "min_volume": 2, "thresholds": {"warning": 0.1}},
    "match": {"match": {"talk_s": {"gt": 100}}, "value": "talk_s", "thresholds": {"warning": 100}},
    "spike": {"window": "10m", "warmup": "1h", "floor": 1, "thresholds": LOW, "min_surprise": 1},
    "shift": {
        "where": {"status": "no_answer"},
        "prior": 0.1,
        "min_volume": 2,
        "thresholds": {"warning": 0.1},
        "min_surprise": 1,
    },
    "outlier": {
        "field": "talk_s",
        "quantile": 0.9,
        "min_history": 20,
        "floor": 1,
        "min_surprise": 1,
        "thresholds": LOW,
    },
    "distinct": {"field": "to", "window": "10m", "thresholds": LOW},
    "new_value": {"field": "to", "warmup": "30m"},
    "flatline": {"window": "30m", "warmup": "1h", "thresholds": {"warning": 0.5}},
    "sequence": {"first": {"direction": "inbound"}, "then": {"direction": "outbound"}},
}

BASELINES = {"spike", "shift", "outlier", "flatline", "new_value"}
FED_ELSEWHERE = {"open"}
"""Kinds CDRs never feed: `open` reads calls still in progress (`detector.opencalls`); its
contract is in tests/test_opencalls.py."""


def rule(kind: str) -> dict[str, Any]:
    """A permissive rule of `kind` that fires often on the random stream."""
    return {"id": f"contract-{kind}", "kind": kind, "thresholds": LOW, **RULES[kind]}


def stream(seed: int, n: int = 3000, start: datetime = T0) -> list[CDR]:
    """A random but reproducible day of mixed traffic for one account, with pauses."""
    rng = random.Random(seed)
    cdrs, t = [], start
    for i in range(n):
        pause = 3 * 3600 if i % 500 == 499 else rng.choice([5, 10, 20, 30, 60, 600])
        t += timedelta(seconds=pause)
        peer = f"+{rng.choice(['91', '53', '44'])}98{rng.randrange(10_000):06d}"
        inbound = rng.random() < 0.3
        fields = {
            "direction": "inbound" if inbound else "outbound",
            "status": rng.choice(["answered", "answered", "no_answer", "failed"]),
            "talk_s": rng.expovariate(1 / 60),
            "ring_s": rng.uniform(0, 10),
            "cost": rng.uniform(0, 5),
            "from_number": peer if inbound else "+912240000000",
            "to_number": "+912240000000" if inbound else peer,
            "dest_country": rng.choice(["IN", "IN", "CU", "GB", "US"]),
        }
        cdrs.append(make_cdr(t, f"c{i}", fields))
    return cdrs


def run(engine: RuleEngine, cdrs: list[CDR], state: RulesState) -> list[Finding]:
    """Advance event time to just before each CDR, then observe it, as the pipeline does."""
    found: list[Finding] = []
    for cdr in cdrs:
        found.extend(engine.advance(cdr.account, cdr.start - timedelta(seconds=1), state))
        found.extend(engine.observe(cdr, state))
    return found


def test_every_registered_kind_is_covered_by_this_suite() -> None:
    """The registry and this contract suite (plus the kinds fed elsewhere) list the same kinds."""
    assert set(KINDS) == set(RULES) | FED_ELSEWHERE


@pytest.mark.parametrize("kind", sorted(RULES))
def test_kind_emits_nothing_on_empty_input(kind: str) -> None:
    """A fresh state yields no findings, however far event time advances."""
    engine = RuleEngine(ruleset_of(rule(kind)))
    state = engine.new_state()
    for hours in (0, 1, 24, 24 * 30):
        assert engine.advance("MA_test", T0 + timedelta(hours=hours), state) == []


@pytest.mark.parametrize("kind", sorted(RULES))
def test_kind_fires_on_the_contract_stream(kind: str) -> None:
    """The permissive rule finds something, so the other contract checks are not vacuous."""
    engine = RuleEngine(ruleset_of(rule(kind)))
    assert run(engine, stream(1), engine.new_state())


@pytest.mark.parametrize("kind", sorted(RULES))
def test_kind_is_deterministic(kind: str) -> None:
    """Two engines fed the same stream produce identical findings."""
    a, b = (RuleEngine(ruleset_of(rule(kind))) for _ in range(2))
    assert run(a, stream(2), a.new_state()) == run(b, stream(2), b.new_state())


@pytest.mark.parametrize("kind", sorted(RULES))
def test_kind_state_survives_pickling_mid_stream(kind: str) -> None:
    """Pickling the state halfway and continuing gives the same findings as not pickling."""
    engine = RuleEngine(ruleset_of(rule(kind)))
    cdrs = stream(3)
    straight = engine.new_state()
    expected = run(engine, cdrs, straight)
    state = engine.new_state()
    first = run(engine, cdrs[:1500], state)
    restored = pickle.loads(pickle.dumps(state))  # noqa: S301 - our own state, in memory
    assert first + run(engine, cdrs[1500:], restored) == expected


class _NamedPickler(pickle.Pickler):
    """Pickles `Positional` state in the named form releases before it wrote."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Positional):
            return copyreg.__newobj__, (type(obj),), named_state(obj)  # type: ignore[attr-defined]
        return NotImplemented


@pytest.mark.parametrize("kind", sorted(RULES))
def test_kind_state_pickled_by_name_by_an_earlier_release_loads_and_goes_on(kind: str) -> None:
    """State pickled mid-stream with every field named (before `Positional`) loads and gives
    the same findings as not pickling."""
    engine = RuleEngine(ruleset_of(rule(kind)))
    cdrs = stream(3)
    expected = run(engine, cdrs, engine.new_state())
    state = engine.new_state()
    first = run(engine, cdrs[:1500], state)
    buffer = io.BytesIO()
    _NamedPickler(buffer, protocol=5).dump(state)
    restored = pickle.loads(buffer.getvalue())  # noqa: S301 - our own state, in memory
    assert restored == state
    assert first + run(engine, cdrs[1500:], restored) == expected


@pytest.mark.parametrize("kind", sorted(RULES))
def test_kind_state_stays_bounded(kind: str) -> None:
    """State after a long busy stream is bounded, and shrinks to under 8 KB once idle."""
    engine = RuleEngine(ruleset_of({**rule(kind), "group_by": ["account", "to"]}))
    state = engine.new_state()
    run(engine, stream(4, n=6000), state)
    assert len(pickle.dumps(state)) < 2_000_000
    idle = make_cdr(T0 + timedelta(days=60), "idle", {"direction": "inbound", "talk_s": 1})
    engine.observe(idle, state)
    engine.observe(make_cdr(T0 + timedelta(days=61), "idle2", {"talk_s": 1}), state)
    if kind not in BASELINES:  # baselines are kept until account TTL
        assert len(pickle.dumps(state)) < 8192


@pytest.mark.parametrize("kind", sorted(RULES))
def test_kind_takes_calls_that_arrive_when_they_end(kind: str) -> None:
    """Calls in end order (late within the lateness) give a kind deterministic findings, and its
    state still shrinks under 8 KB once idle."""
    cdrs = sorted(stream(5, n=2000), key=lambda c: c.end)
    a, b = (RuleEngine(ruleset_of({**rule(kind), "group_by": ["account", "to"]})) for _ in range(2))
    state = a.new_state()
    assert run(a, cdrs, state) == run(b, cdrs, b.new_state())
    a.observe(make_cdr(T0 + timedelta(days=60), "idle", {"talk_s": 1}), state)
    a.observe(make_cdr(T0 + timedelta(days=61), "idle2", {"talk_s": 1}), state)
    if kind not in BASELINES:  # baselines are kept until account TTL
        assert len(pickle.dumps(state)) < 8192
