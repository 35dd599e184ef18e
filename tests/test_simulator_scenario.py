"""Scenario files: loading, validation errors that name the field, and the built-in scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detector.errors import ConfigError
from detector.simulate import SimOptions, builtin_scenario, generate, load_scenario
from detector.simulate.scenario import INCIDENT_TYPES, parse_scenario


def _write(tmp_path: Path, text: str) -> Path:
    """A scenario file with `text`."""
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_loads_into_typed_incidents_and_chaos(tmp_path: Path) -> None:
    """Offsets, ISO times, intensity and chaos settings are parsed into typed values."""
    path = _write(
        tmp_path,
        """
incidents:
  - {type: robocall, account: 2, start: 1h30m, duration: 20m, intensity: 2}
  - {type: irsf, account: MA_00000000, start: "2026-03-02T18:00:00Z", duration: 3600}
chaos: {error_rates: {"503": 0.1}, sort: oldest, rate_limit_bursts: {every_s: 60, length_s: 5}}
""",
    )
    scenario = load_scenario(path)
    first, second = scenario.incidents
    assert (first.type, first.account, first.start, first.intensity) == (
        "robocall", 2, timedelta(minutes=90), 2.0)  # fmt: skip
    assert second.start == datetime(2026, 3, 2, 18, tzinfo=UTC)
    assert second.duration == timedelta(hours=1)
    assert scenario.chaos.error_rates == {503: 0.1}
    assert scenario.chaos.sort == "oldest"
    assert scenario.chaos.rate_limit_bursts is not None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("incidents: [{type: meteor, account: 1, start: 1m, duration: 1m}]", "incidents[0].type"),
        ("incidents: [{type: irsf, account: 1, start: 1m}]", "incidents[0].duration"),
        ("incidents: [{type: irsf, account: 1, start: soon, duration: 1m}]", "incidents[0].start"),
        ("incidents: [{type: irsf, account: 1, start: 1m, duration: 1m, colour: red}]", "colour"),
        ("chaos: {error_rates: {'500': 2}}", "chaos.error_rates.500"),
        ("chaos: {sort: sideways}", "chaos.sort"),
        ("surprise: 1", "surprise"),
    ],
)
def test_invalid_files_raise_config_errors_naming_file_and_field(
    tmp_path: Path, text: str, field: str
) -> None:
    """A bad scenario fails at load with a ConfigError naming the file and the field."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
    assert field in str(caught.value)


def test_an_unknown_account_id_is_a_config_error(tmp_path: Path) -> None:
    """An incident naming an account id that does not exist fails generation clearly."""
    path = _write(
        tmp_path, "incidents: [{type: irsf, account: MA_nothere, start: 1m, duration: 5m}]"
    )
    options = SimOptions(accounts=5, duration=timedelta(hours=1), scenario=load_scenario(path))
    with pytest.raises(ConfigError, match="MA_nothere"):
        generate(options)


def test_builtin_scenario_first_wave_suits_a_demo() -> None:
    """Every type starts 15–60 min in and lasts 20–60 min on its own account index."""
    incidents = builtin_scenario().incidents
    first = [
        i for i in incidents if isinstance(i.start, timedelta) and i.start <= timedelta(hours=1)
    ]
    assert sorted(i.type for i in first) == sorted(INCIDENT_TYPES)
    assert len({i.account for i in first}) == len(first)
    for incident in first:
        assert timedelta(minutes=15) <= incident.start <= timedelta(minutes=60)  # type: ignore[operator]
        assert timedelta(minutes=20) <= incident.duration <= timedelta(minutes=60)


def test_builtin_scenario_spreads_later_incidents_over_the_day() -> None:
    """Later incidents exist for long runs and start after the first hour."""
    offsets = [i.start for i in builtin_scenario().incidents if isinstance(i.start, timedelta)]
    later = [start for start in offsets if start > timedelta(hours=1)]
    assert len(later) >= 5
    assert max(later) >= timedelta(hours=12)


def test_incidents_after_the_run_are_skipped() -> None:
    """A run shorter than an incident's start carries no label for it."""
    traffic = generate(SimOptions(accounts=20, duration=timedelta(minutes=40)))
    assert traffic.labels
    assert all(lab.start < datetime(2026, 3, 2, 4, 10, tzinfo=UTC) for lab in traffic.labels)
    assert all(lab.end <= datetime(2026, 3, 2, 4, 10, tzinfo=UTC) for lab in traffic.labels)


@pytest.mark.parametrize(
    ("change", "name"),
    [({"accounts": 0}, "accounts"), ({"speed": 0.0}, "speed"), ({"shape": "c"}, "shape")],
)
def test_invalid_options_are_config_errors(change: dict[str, object], name: str) -> None:
    """Options no run can use raise a ConfigError naming the option."""
    with pytest.raises(ConfigError, match=name):
        SimOptions(**change)  # type: ignore[arg-type]


def test_an_irsf_incident_can_carry_a_call_as_long_as_the_platform_allows() -> None:
    """`longest: 12h` gives the irsf incident one 12-hour call; other kinds refuse the key."""
    raw = {"incidents": [{"type": "irsf", "account": 0, "start": "10m", "duration": "30m",
                          "longest": "12h"}]}  # fmt: skip
    scenario = parse_scenario(raw, "s.yaml")
    options = SimOptions(accounts=3, seed=4, duration=timedelta(hours=1), scenario=scenario)
    talks = [int(r["duration_seconds"]) for r in generate(options).rows]
    assert max(talks) == 12 * 3600
    robocall = {**raw["incidents"][0], "type": "robocall"}
    with pytest.raises(ConfigError, match=r"incidents\[0\]\.longest"):
        parse_scenario({"incidents": [robocall]}, "s.yaml")
