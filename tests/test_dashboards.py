"""Grafana dashboards and provisioning: generated from tools/dashboards.py, structure,
variables, descriptions, top-k instead of all accounts, and PromQL that parses and names only
metrics that exist (the catalogue and the shipped recording rules)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import dashboards

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
MACROS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
RANGE = re.compile(r"\[([^\]]+)\]")
NAME = re.compile(r"\b([a-z_]+:[a-z_]+:[a-z0-9_]+|cdr_detector_\w+|process_\w+|up)\b")
CATALOGUED = re.compile(r"^\| `(cdr_detector_\w+)` \| (\w+) \|", re.MULTILINE)


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
    """Every PromQL expression of every panel target and annotation."""
    exprs = [t["expr"] for p in panels(board) for t in p.get("targets", [])]
    return exprs + [a["expr"] for a in board["annotations"]["list"] if "expr" in a]


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
        return MACROS.get(name, "10" if name == "topk" else ".*")

    return VAR.sub(one, expr)


def known_names() -> set[str]:
    """Series names that exist: catalogued metrics (with histogram suffixes), the shipped
    recording rules, `up` and the process collector's."""
    names = {"up", "process_cpu_seconds_total", "process_resident_memory_bytes"}
    names.add("process_open_fds")
    for name, kind in CATALOGUED.findall((ROOT / "docs/metrics.md").read_text()):
        names.add(name)
        if kind == "histogram":
            names.update(name + s for s in ("_bucket", "_sum", "_count"))
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    names.update(r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r)
    return names


def test_the_three_dashboards_are_exactly_what_the_generator_builds() -> None:
    """grafana/dashboards/ holds fleet, account and health, byte for byte as generated."""
    built = dashboards.build()
    assert {p.name for p in DASHBOARDS} == set(built)
    assert set(built) == {
        "cdr-detector-fleet.json", "cdr-detector-account.json", "cdr-detector-health.json",
    }  # fmt: skip
    for path in DASHBOARDS:
        assert path.read_text() == dashboards.render(built[path.name]), (
            f"{path.name} is stale: run `python -m tools.dashboards`"
        )


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
def test_every_panel_is_described_and_targets_have_ref_ids(path: Path) -> None:
    """Every panel says what it shows; within a panel every target has its own refId."""
    for p in panels(load(path)):
        if p["type"] == "row":
            continue
        assert p["description"].strip(), p["title"]
        refs = [t.get("refId", "") for t in p["targets"]]
        assert refs, p["title"]
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
def test_datasource_job_and_instance_variables(path: Path) -> None:
    """Every dashboard selects its datasource, job and instance; every query filters on both."""
    board = load(path)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        assert variables[name]["type"] == "query", name
        assert variables[name]["definition"].startswith("label_values(cdr_detector_build_info")
        assert variables[name]["includeAll"], name
    for p in panels(board):
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        for t in p.get("targets", []):
            assert t["datasource"]["uid"] == "${datasource}"
    for expr in expressions(board):
        assert 'job=~"$job"' in expr, expr
        assert 'instance=~"$instance"' in expr, expr


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_accounts_are_top_k_or_the_selected_one(path: Path) -> None:
    """No query draws every account: a query by account is top-k or the selected account."""
    for expr in expressions(load(path)):
        if re.search(r"by \([^)]*\baccount\b", expr):
            assert "topk($topk" in expr or 'account="$account"' in expr, expr


def test_account_dashboard_compares_with_last_week_and_annotates_alerts() -> None:
    """The drill-down has a single-account variable, week-over-week panels and alert marks."""
    board = load(GRAFANA / "dashboards/cdr-detector-account.json")
    account = {v["name"]: v for v in board["templating"]["list"]}["account"]
    assert not account["multi"]
    assert 'account!="_other"' in account["definition"]
    assert sum(" offset 1w" in e for e in expressions(board)) >= 5
    [annotation] = board["annotations"]["list"]
    assert "alerts_firing" in annotation["expr"]
    assert 'account="$account"' in annotation["expr"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_expressions_follow_conventions(path: Path) -> None:
    """Ranges use $__rate_interval (or $__range for totals over the time range)."""
    for expr in expressions(load(path)):
        assert set(RANGE.findall(expr)) <= {"$__rate_interval", "$__range"}, expr


def test_expressions_name_only_metrics_that_exist() -> None:
    """Queries use only catalogued metrics, shipped recording rules, `up` and process series."""
    known = known_names()
    for path in DASHBOARDS:
        for expr in expressions(load(path)):
            used = {n for n in NAME.findall(expr) if n != "up" or "up{" in expr}
            assert used, expr
            assert used <= known, (path.name, used - known)


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
    """The provisioned datasource uid is the dashboards' default; the provider path is mounted;
    the compose home dashboard exists."""
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
    grafana = compose["services"]["grafana"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (GRAFANA / "dashboards" / Path(home).name).is_file()
