"""Detection quality of the default pack on a small labelled run (issue 4, scaled down).

100 accounts × 4 days with every live incident type injected twice, replayed rules-only through
the live detector path and scored by `detector.evaluation`. No flatline is injected (the 7-day
`python -m bench.quality` run covers it), but its rule is live from day 2, so any flatline alert
on this clean-of-outages run counts against precision and the false-alert rate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.quality import Run, make_run, replay, score

SCENARIO = """
incidents:
  - {type: robocall,           account: 3,  start: 0d2h,    duration: 30m}
  - {type: robocall,           account: 61, start: 2d5h,    duration: 40m}
  - {type: irsf,               account: 8,  start: 0d15h,   duration: 1h}
  - {type: irsf,               account: 77, start: 2d3h,    duration: 45m}
  - {type: no_answer_surge,    account: 4,  start: 1d1h,    duration: 40m}
  - {type: no_answer_surge,    account: 55, start: 3d6h,    duration: 30m}
  - {type: wangiri,            account: 14, start: 1d4h,    duration: 30m}
  - {type: wangiri,            account: 90, start: 3d12h,   duration: 40m}
  - {type: traffic_pumping,    account: 9,  start: 1d16h,   duration: 1h}
  - {type: traffic_pumping,    account: 72, start: 3d2h,    duration: 50m}
  - {type: sequential_dialing, account: 21, start: 0d4h,    duration: 30m}
  - {type: sequential_dialing, account: 95, start: 2d10h,   duration: 30m}
  - {type: route_failure,      account: 6,  start: 1d3h,    duration: 30m}
  - {type: route_failure,      account: 40, start: 3d9h,    duration: 30m}
  - {type: cli_spoofing,       account: 17, start: 0d9h,    duration: 30m}
  - {type: cli_spoofing,       account: 83, start: 2d7h,    duration: 40m}
"""
TYPES = 8


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Scores of a rules-only replay of the small labelled run."""
    tmp = tmp_path_factory.mktemp("quality")
    scenario = tmp / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    run: Run = make_run(7, tmp, accounts=100, days=4, scenario=scenario)
    assert len(run.incidents) == 2 * TYPES
    return score(run, replay(run, model=False))


def test_scenario_is_valid_yaml_with_distinct_accounts() -> None:
    """Every incident of the small scenario is on its own account."""
    incidents = yaml.safe_load(SCENARIO)["incidents"]
    assert len({item["account"] for item in incidents}) == len(incidents)


@pytest.mark.slow
def test_every_injected_type_is_recalled(report: dict[str, Any]) -> None:
    """Each live incident type is detected in all of its injected incidents."""
    by_type = report["by_type"]
    recalled = {t: s["recall"] for t, s in by_type.items() if s["incidents"]}
    assert len(recalled) == TYPES
    assert all(r == 1.0 for r in recalled.values()), recalled


@pytest.mark.slow
def test_alerts_are_precise_per_type(report: dict[str, Any]) -> None:
    """Per type at least 90 % of the alerts hit an injected incident."""
    precision = {t: s["precision"] for t, s in report["by_type"].items() if s["alerts"]}
    assert all(p >= 0.9 for p in precision.values()), precision


@pytest.mark.slow
def test_false_alert_rate_is_low(report: dict[str, Any]) -> None:
    """Clean traffic raises at most one false alert per 1,000 account-days."""
    assert report["overall"]["false_alerts_per_1000_account_days"] <= 1.0


def test_week_scenario_is_packaged() -> None:
    """The 7-day quality scenario ships with the simulator and injects every type."""
    from bench.quality import week_scenario
    from detector.simulate import load_scenario
    from detector.simulate.scenario import INCIDENT_TYPES

    scenario = load_scenario(Path(week_scenario()))
    assert {spec.type for spec in scenario.incidents} == set(INCIDENT_TYPES)
    assert len({spec.account for spec in scenario.incidents}) == len(scenario.incidents)
