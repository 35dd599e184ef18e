"""`report kpis` and the daemon's KPI metrics agree on the same traffic (one KPI definition)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.domain import Direction
from detector.metrics import Metrics
from detector.simulate import generate
from tests.simapi import ENV, SimApi, config, options, serve

runner = CliRunner()
CYCLE = 250
"""CDRs per simulated poll cycle: the daemon records each cycle's calls in one go."""


@pytest.fixture(scope="module", params=["a", "b"])
def api(request: pytest.FixtureRequest) -> Iterator[SimApi]:
    """Two simulated days served in shape A, then in shape B."""
    opts = options(request.param)
    with serve(generate(opts), opts) as running:
        yield running


def recorded(api: SimApi) -> Metrics:
    """The daemon's metrics after it has counted every simulated call, cycle by cycle."""
    metrics = Metrics(account_cap=50)
    cdrs = api.cdrs()
    for first in range(0, len(cdrs), CYCLE):
        metrics.calls(cdrs[first : first + CYCLE])
    return metrics


def test_the_kpi_report_equals_the_metrics_kpis(api: SimApi, tmp_path: Path) -> None:
    """Per account and overall, the report's KPIs are the shipped recording rules' ratios of
    the daemon's counters: ASR, ACD, NER, short-call share, ring time and spend."""
    cfg = str(config(tmp_path, api.url))
    args = ["report", "kpis", "--from", "2026-03-01", "--to", "2026-03-02", "--top", "50",
            "--format", "json", "--config", cfg]  # fmt: skip
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in json.loads(result.stdout)["rows"] if r["group"] == "account"}
    registry = recorded(api).registry

    def total(name: str, **labels: str) -> float:
        return registry.get_sample_value(f"cdr_detector_{name}_total", labels) or 0.0

    for account in api.traffic.accounts:
        row, a = rows[account.auth_id], {"account": account.auth_id}
        attempts, answered = total("account_cdrs", **a), total("account_calls_answered", **a)
        user = total("account_call_failures", cause_class="user", **a)
        assert row["attempts"] == attempts
        assert row["asr"] == pytest.approx(answered / attempts)
        assert row["acd_s"] == pytest.approx(total("account_talk_seconds", **a) / answered)
        assert row["ner"] == pytest.approx((answered + user) / attempts)
        assert row["short_share"] == pytest.approx(total("account_short_calls", **a) / answered)
        assert row["spend"] == pytest.approx(total("account_spend", currency="INR", **a))
    directions = [{"direction": d.value} for d in Direction]
    overall = rows["(all)"]
    attempts = sum(total("call_attempts", **d) for d in directions)
    assert overall["attempts"] == attempts
    assert overall["mean_ring_s"] == pytest.approx(
        sum(total("ring_seconds", **d) for d in directions) / attempts
    )
    assert overall["ner"] == pytest.approx(
        sum(total("calls_answered", **d) + total("call_failures", cause_class="user", **d)
            for d in directions) / attempts
    )  # fmt: skip
