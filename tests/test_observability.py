"""Real components end to end: simulator → daemon → Prometheus (shipped rules) → Alertmanager
→ webhook sink, and every Grafana panel query answered by that Prometheus.

One run, in order: Prometheus and Alertmanager start, then the daemon; a robocall campaign on
four accounts, injected an hour of simulated time (six seconds) in, is detected;
Prometheus, scraping every second and evaluating `deploy/prometheus/alerts.yml`, raises a
fraud-findings alert that Alertmanager delivers to a local webhook; then every variable,
panel and annotation query of the three dashboards (macros and variables substituted the way
Grafana would) must parse and return data over the run; finally the simulator is stopped and
the poll-stall alert must reach the sink. A week of history is backfilled for the victim
account before Prometheus starts, so the week-over-week panels (`offset 1w`) have something to
compare with.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.daemon import Simulator, daemon, free_port, wait_for, write_config
from tests.prometheus import Alertmanager, Prometheus, backfill
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
CAMPAIGN = "incidents:\n" + "".join(
    f"  - {{type: robocall, account: {n}, start: 60m, duration: 40m}}\n" for n in range(4)
)
WEEK = 7 * 86400
BACKFILLED = {
    "cdr_detector_account_cdrs": ("", 1.0),
    "cdr_detector_account_calls_answered": ("", 0.5),
    "cdr_detector_account_talk_seconds": ("", 30.0),
    "cdr_detector_account_short_calls": ("", 0.1),
    "cdr_detector_account_spend": (',currency="INR"', 0.2),
    "cdr_detector_account_call_failures": (',cause_class="user"', 0.3),
}
"""Per-account counters of last week: name → (extra labels, increase per second)."""


def last_week(account: str, instance: str, start: float) -> str:
    """OpenMetrics text of the account's counters around the same time one week ago."""
    lines: list[str] = []
    first = int(start - WEEK - 300)
    for name, (extra, per_s) in BACKFILLED.items():
        lines.append(f"# TYPE {name} counter")
        labels = f'{{job="cdr-detector",instance="{instance}",account="{account}"{extra}}}'
        for t in range(first, first + 1800, 5):
            lines.append(f"{name}_total{labels} {(t - first) * per_s} {t}")
    return "\n".join([*lines, "# EOF", ""])


def substitute(expr: str, values: dict[str, str]) -> str:
    """The query as Grafana sends it: macros and variables replaced."""
    out = re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", lambda m: values[m[1] or m[2]], expr)
    assert "$" not in out, out
    return out


def queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expr) for every panel target and annotation query of a dashboard."""
    found = [
        (f"{board['uid']}: {p['title']}", t["expr"])
        for p in board["panels"]
        for t in p.get("targets", [])
    ]
    found += [
        (f"{board['uid']}: annotation {a['name']}", a["expr"])
        for a in board["annotations"]["list"]
        if "expr" in a
    ]
    return found


def variable_queries(board: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, label, series selector) of every `label_values(selector, label)` variable."""
    out = []
    for v in board["templating"]["list"]:
        m = re.fullmatch(r"label_values\((.+), (\w+)\)", v.get("definition", ""))
        if m:
            out.append((v["name"], m[2], m[1]))
    return out


def finite(result: list[dict[str, Any]]) -> bool:
    """True when a range result holds at least one number (not only NaN)."""
    return any(not math.isnan(float(v)) for series in result for _, v in series["values"])


def alert_names(sink: HttpReceiver) -> set[str]:
    """Alert names Alertmanager has delivered to the sink so far (firing ones)."""
    return {
        a["labels"]["alertname"]
        for r in sink.requests
        for a in r.json()["alerts"]
        if a["status"] == "firing"
    }


def test_simulator_daemon_prometheus_alertmanager_and_every_dashboard_query(
    tmp_path: Path,
) -> None:
    """Injected fraud and a stopped feed become Prometheus alerts at the sink; every
    dashboard query parses and returns data from a real Prometheus scraping a real daemon."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(CAMPAIGN)
    args = ["--accounts", "8", "--speed", "600", "--seed", "3", "--duration", "3h"]
    sim = Simulator(tmp_path, *args, "--scenario", str(scenario))
    victim = sim.incidents()[0]["account"]
    config = write_config(tmp_path, rules={"dir": str(judging_at_once(tmp_path))})
    port = free_port()
    instance = f"127.0.0.1:{port}"
    with HttpReceiver() as webhook, HttpReceiver() as sink:
        start = time.time()
        prom_dir = tmp_path / "prom"
        (prom_dir / "prometheus-data").mkdir(parents=True)
        backfill(prom_dir / "prometheus-data", last_week(victim, instance, start), tmp_path)
        am = Alertmanager(tmp_path, f"{sink.url}/alerts")
        prom = Prometheus(prom_dir, [instance], [RULES], am.address)
        env = {"CDR_DETECTOR_WEBHOOK_URL": webhook.url}
        proc = daemon(tmp_path, sim, config, port, env, "daemon")
        try:
            wait_for(lambda: prom.query('up{job="cdr-detector"} == 1'), 60, "the first scrape")
            wait_for(
                lambda: alert_names(sink) & {"CdrDetectorFraudFindings",
                                             "CdrDetectorCriticalFraudFindings"},
                90, "a fraud-findings alert at the sink",
            )  # fmt: skip
            fraud = [
                a
                for r in sink.requests
                for a in r.json()["alerts"]
                if "Fraud" in a["labels"]["alertname"]
            ]
            assert any(a["labels"]["rule"].startswith("robocall") for a in fraud), fraud
            assert all(a["annotations"]["runbook_url"].endswith("fraudfindings") for a in fraud)
            kpis = (f'instance_account:cdr_detector_call_attempts:rate5m{{account="{victim}"}}',
                    "instance_direction:cdr_detector_call_attempts:rate5m")  # fmt: skip
            wait_for(  # the alert can beat the KPI rates' second sample: a race, not a fault
                lambda: all(prom.query(expr) for expr in kpis),
                60, "the KPI recording rules' first values",
            )  # fmt: skip
            check_every_dashboard_query(prom, start, victim, instance)
            sim.proc.stop()
            wait_for(lambda: "CdrDetectorPollStalled" in alert_names(sink), 60, "the stall alert")
        finally:
            proc.popen.kill()
            proc.popen.wait(timeout=10)
            sim.proc.stop()
            prom.stop()
            am.stop()
    assert "CdrDetectorPollStalled" in alert_names(sink), proc.text()[-2000:]


def judging_at_once(tmp_path: Path) -> Path:
    """The repo's rules with a model that scores after its first four learned buckets (5
    minutes, no warm-up, a 10-minute horizon), so a 3-hour run shows anomaly scores from its
    first half hour; its thresholds are out of reach: twenty minutes of history judge
    nothing, and its findings must not beat the robocall rule's to Alertmanager."""
    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules)
    (rules / "_models.yaml").write_text(
        "bucket: 5m\nwarmup: 0s\nhorizon: 10m\nwindow: 1h\ndrift: {threshold: 1000}\n"
        "thresholds: {warning: 1000, critical: 1000, immediate: 1000}\n"
    )
    return rules


def check_every_dashboard_query(
    prom: Prometheus, start: float, account: str, instance: str, timeout: float = 60.0
) -> None:
    """Every variable, panel and annotation query returns data for the run so far, within
    `timeout` s: a rate needs two scrapes of its series, and on a loaded machine the last
    series to appear (a histogram first observed late in the run) can lag the alert."""
    deadline = time.monotonic() + timeout
    while True:
        empty = empty_dashboard_queries(prom, start, account, instance)
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(2.0)
    assert not empty, "panel queries without data:\n" + "\n".join(empty)


def empty_dashboard_queries(
    prom: Prometheus, start: float, account: str, instance: str
) -> list[str]:
    """The panel and annotation queries that return no data yet (variables must resolve)."""
    values = {
        "datasource": "cdr-detector-prometheus", "job": "cdr-detector", "instance": instance,
        "account": account, "topk": "10", "__rate_interval": "15s", "__interval": "2s",
        "__range": "5m",
    }  # fmt: skip
    empty: list[str] = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for name, label, selector in variable_queries(board):
            found = prom.api(f"label/{label}/values", **{"match[]": substitute(selector, values)})
            assert values[name] in found, (path.name, name, found)
        for where, expr in queries(board):
            result = prom.query_range(substitute(expr, values), start, time.time())
            if not finite(result):
                empty.append(f"{where}: {expr}")
    return empty
