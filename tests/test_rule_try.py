"""`rules try RULE INPUT`: one rule over a file or the API fires what the backtest fires."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.rules.loader import load_rules
from detector.simulate import SimOptions, SimulatorServer, generate, write_rows_jsonl
from detector.source.files import read_cdrs
from detector.trial import run_trial

PACK = Path("rules")
OPTIONS = SimOptions(accounts=20, duration=timedelta(hours=8), seed=4)
"""Eight simulated hours of 20 accounts with every built-in incident: ~3,800 calls."""


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The simulated traffic as a JSONL file, and the FIRING alerts a backtest of it writes."""
    folder = tmp_path_factory.mktemp("try")
    rows, alerts = folder / "rows.jsonl", folder / "alerts.jsonl"
    write_rows_jsonl(generate(OPTIONS), rows)
    args = ["backtest", str(rows), "--no-model", "--out", str(alerts), "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in alerts.read_text().splitlines()]
    return rows, [a for a in lines if a["status"] == "firing"]


def fired(alerts: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """The identity of each firing: when, account, severity and delivery id, in order."""
    return sorted((a["at"], a["account"], a["severity"], a["delivery_id"]) for a in alerts)


def test_try_on_a_simulator_file_fires_exactly_what_the_backtest_fires(
    simulated: tuple[Path, list[dict[str, Any]]],
) -> None:
    """For every rule of the pack, a trial of it alone repeats the backtest's firings."""
    rows, backtest = simulated
    ruleset = load_rules(PACK)
    fired_rules = {a["rule"] for a in backtest}
    assert len(fired_rules) >= 10
    for rule in ruleset.rules:
        trial = run_trial(ruleset, read_cdrs(rows), [rule.id])
        mine = [a for a in backtest if a["rule"] == rule.id]
        assert fired(trial.firings(rule.id)) == fired(mine), rule.id


def test_try_prints_firings_days_accounts_and_a_histogram(
    simulated: tuple[Path, list[dict[str, Any]]],
) -> None:
    """The report lists the alerts, a line per local day, the accounts and the value bins."""
    rows, backtest = simulated
    mine = [a for a in backtest if a["rule"] == "sequential-dialing-range"]
    result = CliRunner().invoke(app, ["rules", "try", "sequential-dialing-range", str(rows)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    accounts = {a["account"] for a in mine}
    assert lines[3].startswith(f"fired: {len(mine)} alerts on {len(accounts)} accounts")
    assert lines[1].startswith("traffic: 3,")
    assert "per day (Asia/Kolkata)" in lines
    assert any(line.startswith("2026-03-02  █") for line in lines)
    assert {line.split()[0] for line in lines if line.startswith("MA_")} == accounts
    assert "── warning 15" in lines
    assert "── critical 40" in lines
    assert any(line.startswith("value: each key's daily peak,") for line in lines)


def test_since_keeps_only_the_latest_calls(simulated: tuple[Path, list[dict[str, Any]]]) -> None:
    """`--since 2h` replays the file's last two hours; an ISO time works the same way."""
    rows, _ = simulated
    whole = CliRunner().invoke(app, ["rules", "try", "cli-spoofing", str(rows)])
    late = CliRunner().invoke(app, ["rules", "try", "cli-spoofing", str(rows), "--since", "2h"])
    iso = CliRunner().invoke(
        app, ["rules", "try", "cli-spoofing", str(rows), "--since", "2026-03-02T06:00:00Z"]
    )
    counts = [int(r.output.splitlines()[1].split()[1].replace(",", "")) for r in (whole, late, iso)]
    assert counts[0] > counts[1] > 0
    assert counts[2] > counts[1]
    assert "2026-03-02 06:0" in iso.output.splitlines()[1]


def test_try_over_the_api_fires_what_the_same_traffic_fires_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rules try RULE api` reads the API's calls since a time and fires as that file does."""
    traffic = generate(OPTIONS)
    ordered = tmp_path / "ordered.jsonl"
    ordered.write_text(
        "".join(json.dumps(r) + "\n" for r in sorted(traffic.rows, key=lambda r: r["start_time"]))
    )
    now = [0.0]
    server = SimulatorServer(traffic, OPTIONS, clock=lambda: now[0])
    host, port = server.start()
    now[0] = 9 * 3600.0  # every call has been published
    monkeypatch.setenv("CDR_DETECTOR_AUTH_ID", OPTIONS.auth_id)
    monkeypatch.setenv("CDR_DETECTOR_AUTH_TOKEN", OPTIONS.auth_token)
    url = f"http://{host}:{port}/api/v1/partner"
    config = tmp_path / "settings.yaml"
    config.write_text("api: {rate_per_s: 1000}\n")  # 39 pages at the default 5/s take 8 s
    args = ["rules", "try", "irsf-spend-velocity-5m", "api", "--api-url", url,
            "--config", str(config), "--since", "2026-03-01T00:00:00Z"]  # fmt: skip
    try:
        from_api = CliRunner().invoke(app, args)
    finally:
        server.stop()
    from_file = CliRunner().invoke(app, ["rules", "try", "irsf-spend-velocity-5m", str(ordered)])
    assert from_api.exit_code == 0, from_api.output
    api_lines, file_lines = from_api.output.splitlines(), from_file.output.splitlines()
    assert api_lines[0].endswith("over the API")
    assert api_lines[1:] == file_lines[1:]
    assert "fired: 0 alerts" not in from_api.output


def test_an_unknown_input_or_rule_is_a_clear_error(tmp_path: Path) -> None:
    """A missing file and a misspelt rule are refused with what to do."""
    missing = CliRunner().invoke(app, ["rules", "try", "cli-spoofing", str(tmp_path / "no.jsonl")])
    assert missing.exit_code == 2
    assert "no such file (INPUT is a JSONL/CSV file, or 'api')" in missing.output
    rule = CliRunner().invoke(app, ["rules", "try", "cli-spoof", str(tmp_path)])
    assert rule.exit_code == 2
    assert "did you mean cli-spoofing?" in rule.output
