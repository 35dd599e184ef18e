"""Rate cards (`detector.investigate.ratecard`) and the simulator's labelled billing mistakes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from detector.cli import app
from detector.errors import ConfigError
from detector.investigate.ratecard import Pulse, load_card, parse_card
from detector.simulate import Scenario, SimOptions, generate
from detector.simulate.dialplan import FOREIGN_RATES, NUMBER_FORMATS, call_cost
from detector.simulate.mispricing import MIN_DIFFERENCE
from detector.simulate.scenario import Chaos

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rate-card.yaml"
CARD = load_card(EXAMPLE)
PREFIXES = sorted({*FOREIGN_RATES, *NUMBER_FORMATS, "+91", "+7", "+86"})


@given(
    st.sampled_from(PREFIXES),
    st.integers(10**5, 10**9 - 1),
    st.integers(0, 7200),
    st.booleans(),
)
def test_the_example_card_is_the_simulators_tariff(
    prefix: str, tail: int, talk: int, outbound: bool
) -> None:
    """Every call the simulator prices costs the same under examples/rate-card.yaml."""
    number = f"{prefix}{tail}"
    direction = "outbound" if outbound else "inbound"
    _, charge = CARD.charge(number, direction, float(talk), answered=talk > 0)
    assert charge is not None
    assert float(charge) == pytest.approx(call_cost(number, float(talk), outbound), abs=1e-9)


@pytest.mark.parametrize(
    ("pulse", "talk", "billed"),
    [((60, 60), 1, 60), ((60, 60), 60, 60), ((60, 60), 60.5, 120), ((1, 1), 7.2, 8),
     ((30, 6), 29, 30), ((30, 6), 31, 36), ((30, 6), 0, 0)],
)  # fmt: skip
def test_pulses_round_talk_up_to_their_increments(
    pulse: tuple[int, int], talk: float, billed: int
) -> None:
    """60/60 bills whole minutes, 1/1 seconds, 30/6 a first 30 s then 6-s steps; 0 s is 0."""
    assert Pulse(*pulse).billed_seconds(talk) == billed


def test_the_longest_prefix_and_the_direction_pick_the_rate() -> None:
    """+371 90 beats +371 beats +; inbound calls take the inbound rate."""
    card = parse_card({"currency": "inr", "rates": [
        {"prefix": "+", "per_minute": 9}, {"prefix": "+371", "per_minute": 48},
        {"prefix": "+37190", "per_minute": 120, "setup": 1},
        {"prefix": "+", "per_minute": 0.15, "direction": "inbound"}]}, "card")  # fmt: skip
    assert card.currency == "INR"
    assert card.charge("+37190123456", "outbound", 60.0, answered=True)[1] == Decimal(121)
    assert card.charge("+37120123456", "outbound", 60.0, answered=True)[1] == Decimal(48)
    assert card.charge("+37120123456", "inbound", 60.0, answered=True)[1] == Decimal("0.15")


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ({"rates": [{"prefix": "+91", "per_minute": 1}]}, "card: currency: required"),
        ({"currency": "INR", "rates": []}, "card: rates: expected a non-empty list"),
        ({"currency": "INR", "rate": []}, "card: unknown key(s) rate"),
        ({"currency": "INR", "rates": [{"prefix": "91", "per_minute": 1}]}, "rates[0].prefix"),
        ({"currency": "INR", "rates": [{"prefix": "+91"}]}, "rates[0].per_minute: required"),
        ({"currency": "INR", "rates": [{"prefix": "+91", "per_minute": -1}]}, "0 or more"),
        ({"currency": "INR", "rates": [{"prefix": "+91", "per_minute": 1, "pulse": "60"}]},
         "rates[0].pulse: expected FIRST/NEXT"),
        ({"currency": "INR", "rates": [{"prefix": "+91", "per_minute": 1, "cost": 2}]},
         "rates[0]: unknown key(s) cost"),
        ({"currency": "INR", "rates": [{"prefix": "+91", "per_minute": 1},
                                       {"prefix": "+91", "per_minute": 2}]}, "already rated"),
    ],
)  # fmt: skip
def test_a_bad_card_is_refused_naming_the_entry_and_key(card: dict[str, Any], message: str) -> None:
    """Each mistake in a rate card names where it is."""
    with pytest.raises(ConfigError) as info:
        parse_card(card, "card")
    assert message in str(info.value)


BASE = SimOptions(accounts=6, seed=3, scenario=Scenario())


def test_mispricing_is_opt_in_and_changes_nothing_but_the_costs_it_labels() -> None:
    """With a mismatch rate, only the labelled calls' costs differ from the same run without."""
    plain = generate(BASE)
    priced = generate(replace(BASE, scenario=Scenario(chaos=Chaos(cost_mismatch_rate=0.05))))
    assert plain.mispriced == []
    assert len(priced.mispriced) > 20
    labelled = {m.call_id: m for m in priced.mispriced}
    assert len(plain.rows) == len(priced.rows)
    for before, after in zip(plain.rows, priced.rows, strict=True):
        label = labelled.get(str(after["call_uuid"]))
        if label is None:
            assert before == after
            continue
        assert {k for k in after if after[k] != before[k]} == {"cost"}
        assert (before["cost"], after["cost"]) == (label.expected, label.billed)
        assert abs(label.billed - label.expected) >= MIN_DIFFERENCE


def test_shape_b_rows_carry_the_mispriced_cost_in_both_cost_fields() -> None:
    """A mispriced shape-B row has the wrong amount in `cost` and `total_cost` alike."""
    traffic = generate(
        replace(BASE, shape="b", scenario=Scenario(chaos=Chaos(cost_mismatch_rate=0.05)))
    )
    labelled = {m.call_id: m.billed for m in traffic.mispriced}
    rows = [r for r in traffic.rows if r["uuid"] in labelled]
    assert rows
    assert all(r["cost"] == r["total_cost"] == labelled[str(r["uuid"])] for r in rows)


def test_asking_for_mispriced_labels_without_mispricing_is_refused(tmp_path: Path) -> None:
    """`simulate --mispriced-out` with a scenario that bills nothing wrong exits 2 saying how."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("incidents: []\n")
    result = CliRunner().invoke(app, [
        "simulate", "--to-file", str(tmp_path / "t.jsonl"), "--accounts", "2", "--duration", "1h",
        "--scenario", str(scenario), "--mispriced-out", str(tmp_path / "m.jsonl"),
    ])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "cost_mismatch_rate" in result.output
    assert not (tmp_path / "t.jsonl").exists()
