"""`cdr-detector backfill` feeds a date range of history through the live path into the state."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.simulate import SimOptions, SimulatorServer, generate

runner = CliRunner()


def test_backfill_counts_every_call_of_the_range_once_and_keeps_the_live_cursor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backfilling a finished simulated day processes each served call once, twice run or not."""
    now = [0.0]
    options = SimOptions(accounts=5, speed=1.0, seed=8, duration=timedelta(hours=6))
    server = SimulatorServer(generate(options), options, clock=lambda: now[0])
    host, port = server.start()
    now[0] = 7 * 3600.0  # the whole run is published
    monkeypatch.setenv("CDR_DETECTOR_AUTH_ID", options.auth_id)
    monkeypatch.setenv("CDR_DETECTOR_AUTH_TOKEN", options.auth_token)
    state = tmp_path / "state.sqlite"
    args = [
        "backfill", "--from", "2026-03-02", "--to", "2026-03-02", "--state", str(state),
        "--api-url", f"http://{host}:{port}/api/v1/partner",
    ]  # fmt: skip
    try:
        first = runner.invoke(app, args)
        second = runner.invoke(app, args)
        served = server.stats()["calls"]
    finally:
        server.stop()
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    inspect = runner.invoke(app, ["state", "inspect", "--state", str(state), "--json"])
    body = json.loads(inspect.output)
    assert body["cdrs_processed"] == served
    assert body["cursor"] is None
