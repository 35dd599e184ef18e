"""Grafana dashboards and provisioning: structure, variables, and PromQL that parses and exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from detector.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
MACROS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
RANGE = re.compile(r"\[([^\]]+)\]")
METRIC = re.compile(r"\bcdr_detector_\w+")
ALWAYS_LABELS = {"job", "instance", "le"}


def exposed() -> dict[str, set[str]]:
    """Every sample name a busy `Metrics` exposes, with the label names it carries."""
    m = Metrics(CollectorRegistry(), clock=lambda: 100.0)
    m.cdrs_rejected("bad_time")
    m.api_request("200")
    m.poll_cycle(0.1, ok=True, now=100.0, newest_event_ts=50.0)
    m.finding("r", "warning")
    m.alert("r", "warning", "firing")
    m.notification("slack", "sent")
    m.outbox_pending("slack", 1)
    names: dict[str, set[str]] = {}
    for family in m.registry.collect():
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def load(path: Path) -> dict[str, Any]:
    """A dashboard as a dict."""
    board: dict[str, Any] = json.loads(path.read_text())
    return board


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """All panels, including those nested in collapsed rows."""
    out: list[dict[str, Any]] = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def expressions(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of every panel target."""
    return [t["expr"] for p in panels(board) for t in p.get("targets", [])]


def strings(node: Any) -> list[str]:
    """Every string anywhere inside a JSON value."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return []


def substitute(expr: str) -> str:
    """The expression with Grafana macros and variables replaced as Grafana would."""

    def one(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return MACROS.get(name, ".*")

    return VAR.sub(one, expr)


def test_dashboards_exist() -> None:
    """The overview and fraud dashboards are shipped."""
    assert {p.name for p in DASHBOARDS} >= {"cdr-detector-overview.json", "cdr-detector-fraud.json"}


def test_uids_are_stable_short_and_unique() -> None:
    """Every dashboard has a literal uid of at most 40 characters, unique across files."""
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert all(isinstance(u, str) and 0 < len(u) <= 40 and "$" not in u for u in uids)
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_panel_ids_and_grid(path: Path) -> None:
    """Panel ids are unique, and every panel fits the 24-column grid without overlapping."""
    ps = panels(load(path))
    ids = [p["id"] for p in ps]
    assert len(set(ids)) == len(ids)
    cells: set[tuple[int, int]] = set()
    for p in ps:
        g = p["gridPos"]
        assert g["w"] > 0, p["title"]
        assert g["h"] > 0, p["title"]
        assert g["x"] >= 0, p["title"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, f"panel {p['title']!r} overlaps another"
        cells |= mine


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_ref_ids_are_non_empty_and_unique(path: Path) -> None:
    """Within a panel, every target has its own non-empty refId."""
    for p in panels(load(path)):
        refs = [t.get("refId", "") for t in p.get("targets", [])]
        assert all(refs), p["title"]
        assert len(set(refs)) == len(refs), p["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_variable_used_is_defined(path: Path) -> None:
    """Every $var, ${var} or [[var]] outside templating names a defined variable or a macro."""
    board = load(path)
    defined = {v["name"] for v in board["templating"]["list"]}
    used = {
        next(g for g in m.groups() if g)
        for s in strings({k: v for k, v in board.items() if k != "templating"})
        for m in VAR.finditer(s)
    }
    assert {u for u in used if not u.startswith("__")} <= defined


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_datasource_and_account_variables(path: Path) -> None:
    """Panels use the datasource variable; the account variable is multi, all, label_values."""
    board = load(path)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    account = variables["account"]
    assert account["multi"]
    assert account["includeAll"]
    assert re.fullmatch(r"label_values\(cdr_detector_account_\w+, account\)", account["definition"])
    for p in panels(board):
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        for t in p.get("targets", []):
            assert t["datasource"]["uid"] == "${datasource}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_expressions_follow_conventions(path: Path) -> None:
    """Ranges use $__rate_interval (or $__range for totals); account series filter on $account."""
    for expr in expressions(load(path)):
        assert set(RANGE.findall(expr)) <= {"$__rate_interval", "$__range"}, expr
        if "cdr_detector_account_cdrs" in expr:
            assert 'account=~"$account"' in expr, expr


def test_expressions_name_only_exposed_metrics_and_labels() -> None:
    """Dashboard queries use only metric and label names that `Metrics` really exposes."""
    names = exposed()
    for path in DASHBOARDS:
        for expr in expressions(load(path)):
            used = METRIC.findall(expr)
            assert used, expr
            assert set(used) <= set(names), expr
            allowed = ALWAYS_LABELS.union(*(names[n] for n in used))
            labels = re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", expr)
            labels += [x.strip() for g in re.findall(r"by \(([^)]*)\)", expr) for x in g.split(",")]
            assert set(labels) <= allowed, expr


def test_expressions_parse_as_promql(tmp_path: Path) -> None:
    """Every expression, macros substituted, is valid PromQL (as recording rules for promtool)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    groups = [
        {
            "name": path.stem,
            "rules": [
                {"record": f"dashboard:expr_{i}", "expr": substitute(e)}
                for i, e in enumerate(expressions(load(path)))
            ],
        }
        for path in DASHBOARDS
    ]
    rules = tmp_path / "dashboards.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}))
    done = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_provisioning_matches_the_dashboards() -> None:
    """The provisioned datasource uid is the dashboards' default; the provider path is mounted."""
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    [source] = ds["datasources"]
    assert source["type"] == "prometheus"
    assert source["uid"]
    for path in DASHBOARDS:
        variables = {v["name"]: v for v in load(path)["templating"]["list"]}
        assert variables["datasource"]["current"]["value"] == source["uid"]
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/cdr-detector.yaml").read_text())
    [provider] = prov["providers"]
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in mounts
