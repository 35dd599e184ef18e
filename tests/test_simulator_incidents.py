"""Injected incidents: every type leaves its fingerprint in its labelled account and window."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from detector.simulate import SimOptions, Traffic, generate
from detector.simulate.dialplan import HIGH_RISK_PREFIXES
from detector.simulate.scenario import INCIDENT_TYPES

Row = dict[str, object]


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    """A day of shape-B traffic for 40 accounts with the built-in scenario."""
    return generate(SimOptions(accounts=40, seed=11, shape="b"))


def _window(traffic: Traffic, kind: str, nth: int = 0) -> tuple[list[Row], list[Row]]:
    """Rows of the labelled account inside the nth `kind` incident window, and all its rows."""
    label = [lab for lab in traffic.labels if lab.type == kind][nth]
    own = [r for r in traffic.rows if r["account_auth_id"] == label.account]
    inside = [r for r in own if label.start <= _start(r) < label.end]
    return inside, own


def _start(row: Row) -> datetime:
    """Start time of a row."""
    return datetime.fromisoformat(str(row["start_time"]))


def _answered(rows: list[Row]) -> list[Row]:
    """The answered rows."""
    return [r for r in rows if r["status"] == "answered"]


def _int(row: Row, field: str) -> int:
    """An integer field."""
    return int(str(row[field]))


def test_builtin_scenario_labels_every_type_on_distinct_accounts(traffic: Traffic) -> None:
    """The first wave labels each incident type once, each on its own account."""
    first_wave = [
        lab for lab in traffic.labels if lab.start < traffic.labels[0].start + timedelta(hours=1)
    ]
    assert sorted(lab.type for lab in first_wave) == sorted(INCIDENT_TYPES)
    assert len({lab.account for lab in first_wave}) == len(INCIDENT_TYPES)


def _robocall(inside: list[Row], _own: list[Row]) -> None:
    """Many short outbound calls to distinct numbers at a low answer ratio."""
    short = [r for r in inside if r["call_direction"] == "outbound" and _int(r, "billsec") < 6]
    assert len(short) >= 150
    assert len({r["destination_number"] for r in short}) >= 140
    assert len(_answered(inside)) / len(inside) < 0.35


def _irsf(inside: list[Row], _own: list[Row]) -> None:
    """Long answered calls to high-risk countries, one longer than four hours, high spend."""
    risky = [
        r for r in _answered(inside) if str(r["destination_number"]).startswith(HIGH_RISK_PREFIXES)
    ]
    assert len(risky) >= 20
    assert statistics.median(_int(r, "billsec") for r in risky) >= 900
    assert max(_int(r, "billsec") for r in risky) >= 4 * 3600
    assert sum(float(str(r["cost"])) for r in risky) > 10_000


def _no_answer_surge(inside: list[Row], own: list[Row]) -> None:
    """Volume stays up while the answer ratio collapses against the account's own norm."""
    outside = [r for r in own if r not in inside]
    assert len(inside) >= 20
    assert len(_answered(inside)) / len(inside) < 0.2
    assert len(_answered(outside)) / len(outside) > 0.4


def _wangiri(inside: list[Row], _own: list[Row]) -> None:
    """One-ring inbound calls from many foreign numbers, then callbacks to some of them."""
    rings = [r for r in inside if r["call_direction"] == "inbound" and _int(r, "ring_time") <= 3
             and not str(r["caller_id_number"]).startswith("+91")]  # fmt: skip
    callers = {r["caller_id_number"] for r in rings}
    callbacks = [r for r in inside if r["call_direction"] == "outbound"
                 and r["destination_number"] in callers]  # fmt: skip
    assert len(callers) >= 50
    assert len(callbacks) >= 5
    assert min(map(_start, callbacks)) > min(map(_start, rings))


def _traffic_pumping(inside: list[Row], _own: list[Row]) -> None:
    """Many long answered calls concentrated on at most three numbers."""
    long_calls = [r for r in _answered(inside) if _int(r, "billsec") > 480]
    top = Counter(r["destination_number"] for r in long_calls).most_common(3)
    assert sum(count for _, count in top) >= 30
    assert sum(count for _, count in top) >= 0.9 * len(long_calls)


def _sequential_dialing(inside: list[Row], _own: list[Row]) -> None:
    """Consecutive destinations with many UNALLOCATED_NUMBER (3050) failures."""
    unallocated = [r for r in inside if r["hangup_cause_code"] == 3050]
    numbers = sorted(int(str(r["destination_number"])[1:]) for r in inside)
    runs = sum(1 for a, b in itertools.pairwise(numbers) if b == a + 1)
    assert len(unallocated) >= 100
    assert runs >= 200


def _route_failure(inside: list[Row], _own: list[Row]) -> None:
    """Most calls fail with congestion-class causes."""
    congested = [
        r for r in inside if r["hangup_cause"] in {"SWITCH_CONGESTION", "NORMAL_TEMPORARY_FAILURE"}
    ]
    assert len(inside) >= 20
    assert len(congested) / len(inside) > 0.6


def _flatline(inside: list[Row], own: list[Row]) -> None:
    """The account is silent in the window though it called before it."""
    assert inside == []
    assert len(own) >= 100


def _cli_spoofing(inside: list[Row], _own: list[Row]) -> None:
    """Caller ids are too short to be valid or equal to the destination."""
    spoofed = [r for r in inside if r["caller_id_number"] == r["destination_number"]
               or len(str(r["caller_id_number"])) < 12]  # fmt: skip
    assert len(spoofed) >= 20


CHECKS: dict[str, Callable[[list[Row], list[Row]], None]] = {
    "robocall": _robocall,
    "irsf": _irsf,
    "no_answer_surge": _no_answer_surge,
    "wangiri": _wangiri,
    "traffic_pumping": _traffic_pumping,
    "sequential_dialing": _sequential_dialing,
    "route_failure": _route_failure,
    "flatline": _flatline,
    "cli_spoofing": _cli_spoofing,
}


@pytest.mark.parametrize("kind", INCIDENT_TYPES)
def test_incident_is_present_in_its_window(traffic: Traffic, kind: str) -> None:
    """Each incident type's signature is in the labelled account's rows inside its window."""
    inside, own = _window(traffic, kind)
    CHECKS[kind](inside, own)


@pytest.mark.parametrize("kind", INCIDENT_TYPES)
def test_second_wave_incident_is_present_too(traffic: Traffic, kind: str) -> None:
    """The later incidents of a 24 h run show the same signature."""
    inside, own = _window(traffic, kind, nth=1)
    CHECKS[kind](inside, own)


def test_second_wave_irsf_happens_at_night_in_india(traffic: Traffic) -> None:
    """The later IRSF incident starts at night, Indian time."""
    label = [lab for lab in traffic.labels if lab.type == "irsf"][1]
    hour = label.start.astimezone(ZoneInfo("Asia/Kolkata")).hour
    assert hour >= 22 or hour < 6


def test_other_accounts_are_untouched_by_an_incident(traffic: Traffic) -> None:
    """Calls to high-risk countries come only from accounts labelled with such incidents."""
    kinds = {"irsf", "wangiri", "traffic_pumping"}
    labelled = {lab.account for lab in traffic.labels if lab.type in kinds}
    risky = {r["account_auth_id"] for r in traffic.rows if r["call_direction"] == "outbound"
             and str(r["destination_number"]).startswith(HIGH_RISK_PREFIXES)}  # fmt: skip
    assert risky <= labelled
