"""The command line as a user meets it: messages, exit codes, JSON output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from detector.assembly import zones_yaml
from detector.cli import app
from detector.rules.spec import RuleSettings
from detector.simulate import Scenario, SimOptions, SimulatorServer, generate
from detector.state.store import Cycle, StateStore
from tests.daemon import Simulator, daemon, free_port, write_config

runner = CliRunner()
RULES = str(Path(__file__).resolve().parents[1] / "rules")


def test_state_inspect_json_reports_cdrs_processed_and_cursor(tmp_path: Path) -> None:
    """`state inspect --json` prints the processed count and cursor committed to the state file."""
    path = tmp_path / "state.sqlite"
    store = StateStore(path)
    at = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    store.commit_cycle(Cycle(cursor={"head": "x"}, new_ids=[("c1", at), ("c2", at)], cdrs=2))
    store.commit_cycle(Cycle(cursor={"head": "y"}, new_ids=[("c3", at)], cdrs=1))
    store.close()
    result = runner.invoke(app, ["state", "inspect", "--state", str(path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["cdrs_processed"] == 3
    assert body["cursor"] == {"head": "y"}
    assert body["seen_ids"] == 3


def test_state_inspect_without_a_file_says_so(tmp_path: Path) -> None:
    """Inspecting a missing state file exits 1 with the path in the message."""
    result = runner.invoke(app, ["state", "inspect", "--state", str(tmp_path / "nope.sqlite")])
    assert result.exit_code == 1
    assert "nope.sqlite" in result.output


def test_run_without_credentials_names_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` with no credentials exits 2 naming CDR_DETECTOR_AUTH_ID and _TOKEN."""
    monkeypatch.delenv("CDR_DETECTOR_AUTH_ID", raising=False)
    monkeypatch.delenv("CDR_DETECTOR_AUTH_TOKEN", raising=False)
    result = runner.invoke(app, ["run", "--state", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2
    assert "CDR_DETECTOR_AUTH_ID" in result.output
    assert "CDR_DETECTOR_AUTH_TOKEN" in result.output


def test_unknown_config_key_is_refused_naming_the_field(tmp_path: Path) -> None:
    """A typo in the settings file is an error that names the misspelt field."""
    config = tmp_path / "config.yaml"
    config.write_text("poll:\n  intervall_s: 5\n")
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "poll.intervall_s" in result.output


@pytest.mark.slow
def test_wrong_token_stops_the_daemon_with_exit_2_and_no_secret(tmp_path: Path) -> None:
    """A 401 from the API stops `run` with exit code 2 and a hint, never printing the token."""
    sim = Simulator(tmp_path, "--accounts", "3", "--speed", "60", "--duration", "1h")
    bad = "wrong-token-1234567"
    proc = daemon(
        tmp_path, sim, write_config(tmp_path), free_port(), {"CDR_DETECTOR_AUTH_TOKEN": bad}, "d"
    )
    code = proc.popen.wait(timeout=60)
    sim.proc.stop()
    output = proc.text()
    assert code == 2, output
    assert "CDR_DETECTOR_AUTH_TOKEN" in output
    assert bad not in output


def test_rules_timezones_lists_the_accounts_outside_the_rule_sets_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`rules timezones` pages `GET /accounts` of a real (simulated) API and prints, as a
    `timezones:` map that loads as rule settings, exactly the accounts not in Asia/Kolkata."""
    options = SimOptions(accounts=120, seed=3, duration=timedelta(hours=1), scenario=Scenario())
    traffic = generate(options)
    server = SimulatorServer(traffic, options, clock=lambda: 0.0)
    host, port = server.start()
    monkeypatch.setenv("CDR_DETECTOR_AUTH_ID", options.auth_id)
    monkeypatch.setenv("CDR_DETECTOR_AUTH_TOKEN", options.auth_token)
    try:
        url = f"http://{host}:{port}/api/v1/partner"
        result = runner.invoke(app, ["rules", "timezones", "--api-url", url, "--rules", RULES])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    expected = {a.auth_id: a.timezone for a in traffic.accounts if a.timezone != "Asia/Kolkata"}
    assert len(expected) > 1  # 120 accounts: two pages of `GET /accounts`, some abroad
    printed = yaml.safe_load(result.output)
    assert printed == {"timezones": expected}
    assert RuleSettings.model_validate(printed).timezones == expected


def test_timezone_map_leaves_out_and_names_zones_that_are_not_iana_names() -> None:
    """A zone the API got wrong is left out and named in a comment; text from the API (even an
    account id with a newline) cannot break out of the comment into the map."""
    found = {"MA_a": "Asia/Dubai", "MA_b": "Mars/Base", "MA_c\ntimezone: UTC": "Nowhere"}
    text = zones_yaml(found, "Asia/Kolkata")
    assert yaml.safe_load(text) == {"timezones": {"MA_a": "Asia/Dubai"}}
    assert "# left out, not an IANA timezone: 'MA_b' = 'Mars/Base'" in text
    assert "'MA_c\\ntimezone: UTC' = 'Nowhere'" in text
