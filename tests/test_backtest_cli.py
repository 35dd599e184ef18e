"""`simulate --to-file` then `backtest --labels --format json`: the machine-readable report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from detector.cli import app

runner = CliRunner()
KEYS = {
    "recall", "recall_near", "recall_subtle", "precision", "ttd_median_s", "ttd_p95_s",
    "false_alerts_per_1000_account_days", "alerts", "incidents", "near", "subtle",
}  # fmt: skip


def test_backtest_json_scores_a_simulated_file_and_writes_alert_lines(tmp_path: Path) -> None:
    """A replay of simulated traffic reports the documented keys and alerts on the victims."""
    rows, labels, alerts = tmp_path / "rows.jsonl", tmp_path / "labels.jsonl", tmp_path / "a.jsonl"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "incidents:\n  - {type: robocall, account: 0, start: 30m, duration: 40m}\n"
        "  - {type: irsf, account: 1, start: 2h, duration: 40m}\n"
    )
    made = runner.invoke(app, [
        "simulate", "--accounts", "20", "--duration", "6h", "--seed", "5", "--scenario",
        str(scenario), "--to-file", str(rows), "--labels-out", str(labels),
    ])  # fmt: skip
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, [
        "backtest", str(rows), "--labels", str(labels), "--out", str(alerts), "--format", "json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body["overall"]) == KEYS
    assert set(body["by_type"]) >= {"robocall", "irsf"}
    assert body["overall"]["recall"] == 1.0
    assert body["throughput_cdr_per_s"] > 0
    victims = {json.loads(line)["account"] for line in labels.read_text().splitlines()}
    lines = [json.loads(line) for line in alerts.read_text().splitlines()]
    firing = {a["account"] for a in lines if a["status"] == "firing"}
    assert victims <= firing
    documented = {"account", "rule", "severity", "status", "at", "fingerprint", "summary"}
    assert documented <= set(lines[0])
