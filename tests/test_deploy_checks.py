"""Deploy files under the real validators (hadolint, the compose-spec schema,
kubernetes-validate, promtool), the generated Kubernetes manifests kept fresh, and the compose
stack's wiring: each service's configuration reaches the next one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from detector.config import load_settings
from tools import k8s

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A validator from the venv (dev extras) or the system, else skip."""
    local = VENV_BIN / name
    path = str(local) if local.exists() else shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (`make test` installs it)")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a validator, capturing its output."""
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def kustomize(directory: Path, tmp: Path) -> Path:
    """`kubectl kustomize DIR` written to a file."""
    done = run(tool("kubectl"), "kustomize", str(directory))
    assert done.returncode == 0, done.stderr
    out = tmp / f"{directory.name}.yaml"
    out.write_text(done.stdout)
    return out


def test_dockerfile_passes_hadolint() -> None:
    """hadolint finds nothing in deploy/Dockerfile."""
    done = run(tool("hadolint"), str(DEPLOY / "Dockerfile"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_file_matches_the_compose_spec() -> None:
    """The compose file validates against the compose-spec schema."""
    done = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
        str(DEPLOY / "docker-compose.yml"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_kubernetes_manifests_validate_strictly(tmp_path: Path) -> None:
    """The rendered kustomization and the Secret example pass kubernetes-validate --strict."""
    rendered = kustomize(DEPLOY / "k8s", tmp_path)
    done = run(
        tool("kubernetes-validate"), "-k", "1.31.0", "--strict", "--quiet",
        str(rendered), str(DEPLOY / "k8s" / "secret.example.yaml"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_operator_overlay_validates_and_its_rules_pass_promtool(tmp_path: Path) -> None:
    """With the Prometheus Operator overlay, the standard kinds validate strictly (the two
    custom kinds have no schema there), and the PrometheusRule's rules pass promtool."""
    rendered = kustomize(ROOT / "deploy" / "k8s-prometheus-operator", tmp_path)
    done = run(tool("kubernetes-validate"), "-k", "1.31.0", "--strict", str(rendered))
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [x for x in (done.stdout + done.stderr).splitlines() if x.startswith("WARN")]
    assert len(warnings) == 2, warnings
    assert all("PrometheusRule" in w or "ServiceMonitor" in w for w in warnings)
    docs = {d["kind"]: d for d in yaml.safe_load_all(rendered.read_text()) if d}
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": docs["PrometheusRule"]["spec"]["groups"]}))
    checked = run(tool("promtool"), "check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    monitor, service = docs["ServiceMonitor"], docs["Service"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    ports = {p["name"] for p in service["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports


def test_generated_kubernetes_files_are_fresh() -> None:
    """rules.yaml and the PrometheusRule are exactly what `python -m tools.k8s` writes."""
    for path, text in k8s.build().items():
        assert path.read_text() == text, f"{path} is stale: run `python -m tools.k8s`"
    rule = yaml.safe_load((ROOT / "deploy/k8s-prometheus-operator/prometheusrule.yaml").read_text())
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]


def test_rules_come_from_configmaps_mounted_whole(tmp_path: Path) -> None:
    """The Deployment mounts the rule ConfigMaps at the configured rules.dir without subPath,
    so an update reaches the pod and the daemon reloads it."""
    docs = list(yaml.safe_load_all(kustomize(DEPLOY / "k8s", tmp_path).read_text()))
    [deployment] = [d for d in docs if d and d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    rules_dir = str(load_settings(DEPLOY / "k8s" / "config.yaml", environ={}).rules.dir)
    for path, configmap in ((rules_dir, "cdr-detector-rules"),
                            (f"{rules_dir}/lists", "cdr-detector-rule-lists")):  # fmt: skip
        mount = mounts[path]
        assert "subPath" not in mount
        assert volumes[mount["name"]]["configMap"]["name"] == configmap
    names = {d["metadata"]["name"] for d in docs if d and d["kind"] == "ConfigMap"}
    assert {"cdr-detector-rules", "cdr-detector-rule-lists"} <= names


def compose() -> dict[str, Any]:
    """The compose file with its YAML anchors and merge keys resolved."""
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return doc


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    assert parts.hostname is not None
    return parts.hostname, parts.port or 80


def test_compose_stack_is_wired_end_to_end() -> None:
    """simulator → detector → Prometheus → Alertmanager → Grafana: each address a service is
    given is one the next service listens on, with matching credentials and feed pace."""
    services = compose()["services"]
    sim, det = services["simulator"], services["detector"]
    sim_host, sim_port = _host_port(_option(sim["command"], "--listen"))
    assert sim_host == "0.0.0.0"  # noqa: S104 - the simulator listens on the compose network
    config_mount = next(
        v for v in det["volumes"] if v.endswith(":/etc/cdr-detector/config.yaml:ro")
    )
    settings = load_settings(
        DEPLOY / config_mount.split(":")[0],
        environ={k: str(v) for k, v in det["environment"].items()},
    )
    # detector → simulator: address, credentials, and a poll pace that keeps up with --speed
    assert _host_port(settings.api.url) == ("simulator", sim_port)
    assert settings.api.url.endswith("/api/v1/partner")
    for name in ("CDR_DETECTOR_AUTH_ID", "CDR_DETECTOR_AUTH_TOKEN"):
        assert det["environment"][name] == sim["environment"][name]
    speed = float(_option(sim["command"], "--speed"))
    assert settings.poll.feed_time_per_poll_s == settings.poll.interval_s * speed
    assert _option(sim["command"], "--start") == "now"
    # Prometheus → detector: scrape target and the rule file it mounts
    prom_cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in prom_cfg["scrape_configs"] if j["job_name"] == "cdr-detector"]
    _, metrics_port = _host_port(settings.metrics.listen)
    assert job["static_configs"][0]["targets"] == [f"detector:{metrics_port}"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert all((DEPLOY / "prometheus" / f).is_file() for f in prom_cfg["rule_files"])
    # detector and Prometheus → Alertmanager
    [am] = prom_cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert _host_port(am) == ("alertmanager", 9093)
    assert settings.alertmanager.url is not None
    assert _host_port(settings.alertmanager.url) == ("alertmanager", 9093)
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in services["alertmanager"]["command"]
    # Grafana → Prometheus, with the dashboards provisioned
    ds = yaml.safe_load((ROOT / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    assert _host_port(ds["datasources"][0]["url"]) == ("prometheus", 9090)
    assert "../grafana/provisioning:/etc/grafana/provisioning:ro" in services["grafana"]["volumes"]
    for name in ("detector", "prometheus", "alertmanager", "grafana"):
        assert services[name].get("depends_on") or name == "alertmanager", name


def test_systemd_unit_never_restarts_on_exit_code_2() -> None:
    """The unit restarts on failure, except on exit code 2 (fix the configuration)."""
    lines = (DEPLOY / "systemd" / "cdr-detector.service").read_text().splitlines()
    assert "Restart=on-failure" in lines
    assert "RestartPreventExitStatus=2" in lines
