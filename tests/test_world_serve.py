"""`cdr-detector simulate --world-seed N`: a world through the fake API, its labels on disk."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.simulate.world import draw_world
from tests.daemon import AUTH, Simulator, wait_for

runner = CliRunner()
HEADERS = {
    "X-Auth-ID": AUTH["CDR_DETECTOR_AUTH_ID"],
    "X-Auth-Token": AUTH["CDR_DETECTOR_AUTH_TOKEN"],
}


@pytest.mark.slow
def test_world_is_served_over_loopback_with_account_timezones(tmp_path: Path) -> None:
    """The API lists the world's accounts with their timezones, serves their CDRs as time
    passes, and the labels file carries grades."""
    world = draw_world(4, 15, 0.125)
    sim = Simulator(tmp_path, "--world-seed", "4", "--accounts", "15", "--duration", "3h",
                    "--speed", "3600")  # fmt: skip
    try:
        api = f"{sim.url}/api/v1/partner"
        body = httpx.get(f"{api}/accounts", params={"per_page": 100}, headers=HEADERS).json()
        listed = {a["auth_id"]: a["timezone"] for a in body["accounts"]}
        assert listed == {a.auth_id: a.timezone for a in world.accounts}
        wait_for(lambda: sim.stats()["visible"] > 100, 30, "world CDRs to become visible")
        page = httpx.get(f"{api}/cdrs", params={"per_page": 50}, headers=HEADERS).json()
        assert {r["account_auth_id"] for r in page["data"]} <= set(listed)
    finally:
        sim.proc.stop()
    labels = sim.incidents()
    assert labels == [lb.to_json() for lb in world.labels()]
    assert all(lb["grade"] in ("clear", "near", "subtle") for lb in labels)


def test_world_to_file_streams_rows_and_labels(tmp_path: Path) -> None:
    """`--to-file` writes the world's rows as JSON lines (any size, streamed) and its labels."""
    rows, labels = tmp_path / "rows.jsonl", tmp_path / "labels.jsonl"
    result = runner.invoke(app, [
        "simulate", "--world-seed", "6", "--accounts", "8", "--duration", "2h",
        "--to-file", str(rows), "--labels-out", str(labels),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    world = draw_world(6, 8, 2 / 24)
    written = [json.loads(line) for line in rows.read_text().splitlines()]
    assert written == list(world.stream())
    assert len(labels.read_text().splitlines()) == len(world.incidents)


def test_a_world_too_big_to_serve_is_refused_with_what_to_do() -> None:
    """Serving more calls than fit in memory exits 2 and says to lower the size or stream."""
    result = runner.invoke(app, ["simulate", "--world-seed", "3", "--accounts", "500",
                                 "--duration", "14d"])  # fmt: skip
    assert result.exit_code == 2
    assert "--accounts" in result.output
    assert "--to-file" in result.output


def test_world_and_scenario_are_exclusive(tmp_path: Path) -> None:
    """A world draws its own incidents, so a scenario file next to it is an error."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("incidents: []\n")
    result = runner.invoke(app, ["simulate", "--world-seed", "3", "--scenario", str(scenario),
                                 "--to-file", str(tmp_path / "x.jsonl")])  # fmt: skip
    assert result.exit_code == 2
    assert "--scenario" in result.output
