"""Scoring alerts against graded incidents, per type and per account-size band."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from detector.evaluation import Incident, evaluate, load_labels

T0 = datetime(2026, 3, 2, tzinfo=UTC)
BANDS = {"A": "<100", "B": "<100", "C": ">1000", "D": ">1000"}


def _incident(account: str, grade: str, hours: float = 1.0, kind: str = "robocall") -> Incident:
    start = T0 + timedelta(hours=hours)
    return Incident(account, kind, start, start + timedelta(hours=1), grade,
                    band=BANDS[account])  # fmt: skip


def _alert(
    account: str, hours: float, rule: str = "r", pattern: str = "robocall"
) -> dict[str, Any]:
    at = (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"account": account, "status": "firing", "fingerprint": f"{rule}:{account}:{at}",
            "starts_at": at, "at": at, "rule": rule, "labels": {"pattern": pattern}}  # fmt: skip


def _score(alerts: list[dict[str, Any]], incidents: list[Incident]) -> dict[str, Any]:
    return evaluate(alerts, incidents, accounts=4, span=timedelta(days=10), bands=BANDS)


def test_subtle_incidents_are_out_of_recall_but_reported() -> None:
    """Recall counts clear and near incidents only; subtle ones have their own recall."""
    incidents = [_incident("A", "clear"), _incident("B", "near"), _incident("C", "subtle")]
    report = _score([_alert("A", 1.5), _alert("C", 1.5)], incidents)
    robocall = report["by_type"]["robocall"]
    assert (robocall["incidents"], robocall["near"], robocall["subtle"]) == (2, 1, 1)
    assert robocall["recall"] == 0.5
    assert robocall["recall_near"] == 0.0
    assert robocall["recall_subtle"] == 1.0


def test_an_alert_on_a_subtle_incident_is_not_false() -> None:
    """Precision counts a hit on a subtle incident as true, and no false alert is charged."""
    report = _score([_alert("C", 1.2)], [_incident("C", "subtle")])
    assert report["overall"]["precision"] == 1.0
    assert report["overall"]["false_alerts_per_1000_account_days"] == 0.0


def test_false_alerts_are_rated_per_band() -> None:
    """A false alert counts against its account's band only, over that band's clean days."""
    incidents = [_incident("A", "clear")]
    report = _score([_alert("D", 50.0, pattern="flatline"), _alert("A", 1.1)], incidents)
    small, big = report["by_band"]["<100"], report["by_band"][">1000"]
    assert small["false_alerts"] == 0
    assert big["false_alerts"] == 1
    assert big["false_alerts_per_1000_account_days"] == pytest.approx(1000 / 20)
    clean_small = 2 * 10 - (1.5 / 24)
    assert small["false_alerts_per_1000_account_days"] == 0.0
    assert report["overall"]["false_alerts_per_1000_account_days"] == pytest.approx(
        1000 / (clean_small + 20)
    )


def test_recall_per_type_and_band() -> None:
    """The type-by-band table says which band's incidents were found."""
    incidents = [_incident("A", "clear"), _incident("D", "clear")]
    cell = _score([_alert("D", 1.5)], incidents)["by_type_band"]["robocall"]
    assert cell["<100"]["recall"] == 0.0
    assert cell[">1000"]["recall"] == 1.0
    assert cell[">1000"]["ttd_median_s"] == 1800.0


def test_scenario_labels_without_grades_are_all_scored(tmp_path: Path) -> None:
    """Labels written by scenarios (no grade) load and count towards recall."""
    path = tmp_path / "labels.jsonl"
    line = {"account": "A", "type": "irsf", "start": "2026-03-02T01:00:00Z",
            "end": "2026-03-02T02:00:00Z"}  # fmt: skip
    world_line = {**line, "account": "B", "grade": "subtle", "direction": "", "band": "<100"}
    path.write_text(json.dumps(line) + "\n" + json.dumps(world_line) + "\n")
    loaded = load_labels(path)
    assert [i.scored for i in loaded] == [True, False]
    assert loaded[1].band == "<100"


def test_false_alerts_are_counted_per_rule() -> None:
    """Each rule's alerts and false alerts are counted, the noisiest rule first."""
    incidents = [_incident("A", "clear")]
    alerts = [_alert("A", 1.1, rule="hit"), _alert("D", 50, rule="noisy"),
              _alert("C", 60, rule="noisy")]  # fmt: skip
    by_rule = _score(alerts, incidents)["by_rule"]
    assert list(by_rule) == ["noisy", "hit"]
    assert by_rule["noisy"] == {"alerts": 2, "false": 2}
    assert by_rule["hit"] == {"alerts": 1, "false": 0}
