"""Simulated background traffic: determinism, realism and the files it is written to."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from detector.simulate import (
    Scenario,
    SimOptions,
    Traffic,
    generate,
    write_labels_jsonl,
    write_rows_jsonl,
)
from detector.simulate.calls import OUTCOMES

IST = ZoneInfo("Asia/Kolkata")
CLEAN = SimOptions(accounts=120, seed=7, scenario=Scenario())


@pytest.fixture(scope="module")
def clean() -> Traffic:
    """A day of incident-free traffic for 120 accounts."""
    return generate(CLEAN)


def _start(row: dict[str, object]) -> datetime:
    """A row's start time as an aware datetime."""
    return datetime.fromisoformat(str(row["start_time"]))


def test_same_seed_gives_identical_traffic() -> None:
    """Two runs with the same options produce the same rows, ids and labels."""
    options = SimOptions(accounts=20, seed=3, duration=timedelta(hours=3))
    first, second = generate(options), generate(options)
    assert first.rows == second.rows
    assert first.labels == second.labels
    assert [a.auth_id for a in first.accounts] == [a.auth_id for a in second.accounts]


def test_different_seed_gives_different_traffic() -> None:
    """Changing the seed changes the traffic."""
    options = SimOptions(accounts=20, seed=3, duration=timedelta(hours=3))
    other = SimOptions(accounts=20, seed=4, duration=timedelta(hours=3))
    assert generate(options).rows != generate(other).rows


def test_volume_per_account_day_is_in_the_expected_range(clean: Traffic) -> None:
    """A weekday averages 100–300 calls per account."""
    per_account = len(clean.rows) / len(clean.accounts)
    assert 100 <= per_account <= 300


def test_accounts_have_ids_and_mostly_indian_timezones(clean: Traffic) -> None:
    """Account ids look like MA_xxxxxxxx and most accounts are in Asia/Kolkata."""
    assert all(re.fullmatch(r"MA_[0-9a-f]{8}", a.auth_id) for a in clean.accounts)
    zones = Counter(a.timezone for a in clean.accounts)
    assert zones["Asia/Kolkata"] / len(clean.accounts) > 0.75


def test_answer_seizure_ratio_is_realistic(clean: Traffic) -> None:
    """ASR is about 50 % overall and within 30–80 % for every busy account."""
    answered = Counter(r["account_auth_id"] for r in clean.rows if r["status"] == "answered")
    attempts = Counter(r["account_auth_id"] for r in clean.rows)
    assert 0.45 <= sum(answered.values()) / len(clean.rows) <= 0.65
    for account, count in attempts.items():
        if count >= 150:
            assert 0.3 <= answered[account] / count <= 0.8


def test_talk_and_ring_times_follow_the_profiles(clean: Traffic) -> None:
    """Answered calls talk about a minute or more at the median and ring ~8 s first."""
    answered = [r for r in clean.rows if r["status"] == "answered"]
    talk = statistics.median(int(str(r["duration_seconds"])) for r in answered)
    ring = statistics.median(int(str(r["ring_duration_seconds"])) for r in answered)
    no_answer = [
        int(str(r["ring_duration_seconds"])) for r in clean.rows if r["status"] == "no-answer"
    ]
    assert 50 <= talk <= 200
    assert 6 <= ring <= 10
    assert all(30 <= ring <= 60 for ring in no_answer)


def test_arrivals_follow_the_indian_business_day(clean: Traffic) -> None:
    """Calls peak 10–12 and 15–17 IST and almost vanish between 01:00 and 06:00."""
    hours = Counter(_start(r).astimezone(IST).hour for r in clean.rows)
    peak = hours[10] + hours[11] + hours[15] + hours[16]
    night = hours[1] + hours[2] + hours[3] + hours[4]
    assert peak > 30 * max(night, 1)
    assert hours[13] < hours[11]


def test_weekend_traffic_is_a_fraction_of_weekday_traffic() -> None:
    """A Saturday morning carries about 0.3 of the same Monday morning's calls."""
    monday = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    saturday = monday + timedelta(days=5)
    base = SimOptions(accounts=60, seed=5, duration=timedelta(hours=3), scenario=Scenario())
    weekday = len(generate(base).rows)
    weekend = len(generate(SimOptions(**{**base.__dict__, "start": saturday})).rows)
    assert 0.2 <= weekend / weekday <= 0.45


def test_rows_carry_numbers_causes_and_costs(clean: Traffic) -> None:
    """Numbers are E.164, causes come from the known table, cost is INR per 60-s pulse."""
    causes = {o.cause for o in OUTCOMES}
    for row in clean.rows[:3000]:
        assert re.fullmatch(r"\+\d{8,15}", str(row["to_number"]))
        assert row["hangup_cause"] in causes
        assert row["currency"] == "INR"
        assert row["context"] == "sip-trunking"
        if row["status"] != "answered" and row["direction"] == "outbound":
            assert row["cost"] == 0.02
    domestic = [
        r for r in clean.rows
        if r["status"] == "answered" and r["direction"] == "outbound"
        and str(r["to_number"]).startswith("+91")
    ]  # fmt: skip
    row = domestic[0]
    pulses = -(-int(str(row["duration_seconds"])) // 60)
    assert row["cost"] == pytest.approx(pulses * 0.45)


def test_mostly_outbound_with_some_inbound(clean: Traffic) -> None:
    """Most calls are outbound but inbound calls exist."""
    directions = Counter(r["direction"] for r in clean.rows)
    assert directions["outbound"] > 2 * directions["inbound"] > 0


def test_shape_b_rows_use_shape_b_fields() -> None:
    """Shape B rows carry uuid, billsec, duration = ring + talk, numeric codes and no_answer."""
    traffic = generate(SimOptions(accounts=10, duration=timedelta(hours=2), shape="b"))
    statuses = {r["status"] for r in traffic.rows}
    assert "no_answer" in statuses
    assert "no-answer" not in statuses
    for row in traffic.rows[:500]:
        assert row["duration"] == row["billsec"] + row["ring_time"]  # type: ignore[operator]
        assert isinstance(row["hangup_cause_code"], int)
        assert {"uuid", "caller_id_number", "destination_number", "call_direction"} <= set(row)


def test_rows_become_available_a_few_seconds_after_they_end(clean: Traffic) -> None:
    """Every row's available_at lies 2–9 s after its end time and rows are in arrival order."""
    for row in clean.rows[:2000]:
        end = datetime.fromisoformat(str(row["end_time"]))
        available = datetime.fromisoformat(str(row["available_at"]))
        assert timedelta(seconds=1) <= available - end <= timedelta(seconds=9)
    assert clean.available == sorted(clean.available)


def test_rows_and_labels_files_are_json_lines(tmp_path: Path) -> None:
    """--to-file and --labels-out write one parseable JSON object per line."""
    traffic = generate(SimOptions(accounts=12, duration=timedelta(hours=2)))
    rows_path, labels_path = tmp_path / "rows.jsonl", tmp_path / "labels.jsonl"
    write_rows_jsonl(traffic, rows_path)
    write_labels_jsonl(traffic.labels, labels_path)
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    labels = [json.loads(line) for line in labels_path.read_text().splitlines()]
    assert len(rows) == len(traffic.rows)
    assert rows[0] == traffic.rows[0]
    assert labels
    assert set(labels[0]) == {"account", "type", "start", "end"}
    assert labels[0]["start"].endswith("Z")


def test_clean_traffic_dials_valid_numbers(clean: Traffic) -> None:
    """Without incidents, destinations are valid numbers, so invalid ones signal fraud."""
    import phonenumbers

    sample = [str(r["to_number"]) for r in clean.rows[:3000]]
    invalid = [n for n in sample if not phonenumbers.is_valid_number(phonenumbers.parse(n))]
    assert invalid == []
