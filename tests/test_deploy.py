"""Deploy files: Prometheus rules and their tests, Alertmanager routing, Docker, systemd, k8s."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from detector.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PROM = DEPLOY / "prometheus"
AM_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
METRIC = re.compile(r"\bcdr_detector_\w+")
CATALOGUE = ROOT / "docs" / "metrics.md"


def tool(name: str) -> str:
    """Path of an external checker, or skip the test when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (CI installs it; see `make system-deps`)")
    return path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a checker and capture its output as text."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule in alerts.yml."""
    doc = yaml.safe_load((PROM / "alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def recorded() -> set[str]:
    """Every recording rule name in alerts.yml."""
    doc = yaml.safe_load((PROM / "alerts.yml").read_text())
    return {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}


def catalogued() -> set[str]:
    """Every metric name in the catalogue (docs/metrics.md)."""
    return set(re.findall(r"^\| `(cdr_detector_\w+)` \|", CATALOGUE.read_text(), re.MULTILINE))


def test_promtool_check_rules() -> None:
    """alerts.yml is valid for `promtool check rules`."""
    done = run(tool("promtool"), "check", "rules", str(PROM / "alerts.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_test_rules() -> None:
    """The unit tests in alerts_test.yml pass."""
    done = run(tool("promtool"), "test", "rules", "alerts_test.yml", cwd=PROM)
    assert done.returncode == 0, done.stdout + done.stderr


def test_example_prometheus_config_is_valid() -> None:
    """The example prometheus.yml (with its rule file) passes `promtool check config`."""
    done = run(tool("promtool"), "check", "config", str(PROM / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_labelled_and_annotated() -> None:
    """Each alert has a severity, a summary and description, and a case in alerts_test.yml."""
    tests = yaml.safe_load((PROM / "alerts_test.yml").read_text())["tests"]
    tested = {
        case["alertname"]
        for t in tests
        for case in t.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
        assert rule["alert"] in tested, f"{rule['alert']} has no firing test"


def test_every_recording_rule_is_tested() -> None:
    """Each KPI recording rule has an expected value in alerts_test.yml."""
    tests = yaml.safe_load((PROM / "alerts_test.yml").read_text())["tests"]
    exprs = " ".join(c["expr"] for t in tests for c in t.get("promql_expr_test", []))
    assert {r for r in recorded() if r not in exprs} == set()


def test_every_alert_links_its_runbook_section_and_a_dashboard() -> None:
    """runbook_url points at a section of docs/runbook.md written for that alert, and
    dashboard_url at a shipped dashboard; the runbook has no section without an alert."""
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    sections = {h.lower() for h in re.findall(r"^## (\w+)$", runbook, re.MULTILINE)}
    uids = {json.loads(p.read_text())["uid"] for p in (ROOT / "grafana/dashboards").glob("*.json")}
    names = set()
    for rule in alert_rules():
        name = rule["alert"]
        names.add(name.lower())
        url = rule["annotations"]["runbook_url"]
        assert url.endswith("/docs/runbook.md#" + name.lower()), name
        assert name.lower() in sections, f"no runbook section for {name}"
        dashboard = re.search(r"/d/([\w-]+)", rule["annotations"]["dashboard_url"])
        assert dashboard, name
        assert dashboard[1] in uids, name
    assert sections == names


def test_alerts_use_only_catalogued_metrics() -> None:
    """Alert and recording expressions name only catalogued metrics (or Prometheus's `up`)."""
    names = catalogued()
    doc = yaml.safe_load((PROM / "alerts.yml").read_text())
    for rule in (r for g in doc["groups"] for r in g["rules"]):
        used = set(METRIC.findall(rule["expr"]))
        assert used <= names, rule
        assert used or re.search(r"\bup\{", rule["expr"]), rule


def test_absent_target_and_warning_fraud_alerts_are_shipped() -> None:
    """A vanished target has its own alert, and fraud volume alerts exist at both severities."""
    by_name = {r["alert"]: r for r in alert_rules()}
    assert 'absent(up{job="cdr-detector"})' in by_name["CdrDetectorAbsent"]["expr"]
    fraud = {r["labels"]["severity"] for n, r in by_name.items() if "FraudFindings" in n}
    assert fraud == {"warning", "critical"}


def test_amtool_check_config() -> None:
    """The example Alertmanager config passes `amtool check-config`."""
    done = run(tool("amtool"), "check-config", str(AM_CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ("severity=critical", "slack-critical,email-oncall"),
        ("severity=warning", "slack-warning"),
        ("severity=info", "null"),
    ],
)
def test_alertmanager_routes_by_severity(labels: str, receivers: str) -> None:
    """Critical goes to Slack and email, warning to Slack, info nowhere."""
    done = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={AM_CONFIG}",
        f"--verify.receivers={receivers}",
        "alertname=X",
        labels,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_alertmanager_secrets_are_files_with_placeholders() -> None:
    """Every *_file secret the config names is mounted from a placeholder in the repository."""
    text = AM_CONFIG.read_text()
    files = re.findall(r"_file:\s*/etc/alertmanager/secrets/(\S+)", text)
    assert files
    for name in files:
        assert (DEPLOY / "alertmanager" / "secrets" / name).is_file()
    assert "hooks.slack.com/services/T" not in text


def test_dockerfile_runs_the_daemon_as_non_root() -> None:
    """The image is python:3.11-slim, runs as a non-root user and copies existing paths only."""
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    assert lines[next(i for i, x in enumerate(lines) if x.startswith("FROM"))] == (
        "FROM python:3.11-slim"
    )
    users = [x.split()[1] for x in lines if x.startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert 'CMD ["run", "--config", "/etc/cdr-detector/config.yaml"]' in lines
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


@pytest.mark.parametrize("path", ["config/config.yaml", "k8s/config.yaml"])
def test_example_configs_load(path: str) -> None:
    """The shipped daemon configs validate and serve metrics on port 9108 on all interfaces."""
    settings = load_settings(DEPLOY / path)
    assert settings.metrics.listen == "0.0.0.0:9108"
    assert settings.metrics.status_api is False, "beyond loopback the JSON API stays off"
    assert str(settings.state.path).startswith("/var/lib/cdr-detector/")


def test_compose_wires_the_stack() -> None:
    """The compose file has the five services, builds from the repo and mounts existing paths."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"simulator", "detector", "prometheus", "alertmanager", "grafana"}
    build = services["detector"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), volume
    prom = yaml.safe_load((PROM / "prometheus.yml").read_text())
    targets = {
        t for job in prom["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    assert "detector:9108" in targets
    assert services["detector"]["environment"]["CDR_DETECTOR__API__URL"] == "http://simulator:8080"


def test_systemd_unit_is_hardened_and_verifies(tmp_path: Path) -> None:
    """The unit uses DynamicUser, ProtectSystem=strict, a StateDirectory, never restarts on exit
    code 2 (fix the configuration), listens on loopback, and verifies cleanly."""
    text = (DEPLOY / "systemd" / "cdr-detector.service").read_text()
    for directive in (
        "DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=cdr-detector",
        "Restart=on-failure", "RestartPreventExitStatus=2",
    ):  # fmt: skip
        assert directive in text.splitlines()
    assert "--metrics-addr 127.0.0.1:" in text
    analyze = tool("systemd-analyze")
    unit = tmp_path / "cdr-detector.service"
    unit.write_text(text.replace("/opt/cdr-detector/bin/cdr-detector", "/bin/true"))
    done = run(analyze, "verify", str(unit))
    assert done.returncode == 0
    assert done.stdout + done.stderr == "", "systemd-analyze warned"


def test_kustomize_renders_a_single_hardened_deployment() -> None:
    """kubectl kustomize renders one Recreate replica, non-root, probing /healthz and /readyz."""
    done = run(tool("kubectl"), "kustomize", str(DEPLOY / "k8s"))
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "Deployment", "Service", "ConfigMap", "PersistentVolumeClaim"} <= kinds
    [deploy] = [d for d in docs if d["kind"] == "Deployment"]
    spec = deploy["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    [service] = [d for d in docs if d["kind"] == "Service"]
    assert service["spec"]["publishNotReadyAddresses"] is True, "scrape unready pods too"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert all(
        d["metadata"].get("namespace") == "cdr-detector" for d in docs if d["kind"] != "Namespace"
    )
