"""The metric catalogue (docs/metrics.md) against a live daemon's /metrics at start-up.

The daemon is started against an API address where nothing listens, so no poll ever succeeds
and no CDR arrives: what it exposes is what exists from start-up. Every catalogued metric must
be there with the catalogued labels, every exposed `cdr_detector_*` metric must be catalogued,
and `promtool check metrics` must find nothing to complain about.
"""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon import ROOT, free_port, spawn, wait_for, write_config
from tests.prometheus import binary

pytestmark = pytest.mark.slow

CATALOGUE = ROOT / "docs" / "metrics.md"
ROW = re.compile(r"^\| `(cdr_detector_\w+)` \| (\w+) \|([\w, ]*)\|")
SUFFIXES = {"counter": "", "gauge": "", "histogram": "_bucket"}


def catalogue() -> dict[str, tuple[str, set[str]]]:
    """Catalogued metric → (type, label names), from the tables of docs/metrics.md."""
    out = {}
    for line in CATALOGUE.read_text().splitlines():
        m = ROW.match(line)
        if m:
            labels = {x.strip() for x in m[3].split(",") if x.strip()}
            out[m[1]] = (m[2], labels)
    return out


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> str:
    """/metrics of a daemon that has just started (nothing polled, nothing ingested)."""
    tmp = tmp_path_factory.mktemp("catalogue")
    port = free_port()
    dead_api = f"http://127.0.0.1:{free_port()}/api/v1/partner"
    config = write_config(tmp)
    env = {"CDR_DETECTOR_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
    args = [
        "run", "--config", str(config), "--api-url", dead_api,
        "--state", str(tmp / "state.sqlite"), "--metrics-addr", f"127.0.0.1:{port}",
    ]  # fmt: skip
    proc = spawn(args, tmp / "daemon.log", env)
    try:
        text: str = wait_for(lambda: _scrape(port), 60, "the metrics endpoint")
    finally:
        proc.popen.kill()
        proc.popen.wait(timeout=10)
    return text


def _scrape(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return ""


def families(text: str) -> dict[str, tuple[str, set[str], int]]:
    """Exposed metric (counters with their `_total`) → (type, label names, sample count)."""
    out = {}
    for family in text_string_to_metric_families(text):
        labels = {k for s in family.samples for k in s.labels if k != "le"}
        name = family.name + ("_total" if family.type == "counter" else "")
        out[name] = (family.type, labels, len(family.samples))
    return out


def test_every_catalogued_metric_exists_at_start_with_its_labels(exposition: str) -> None:
    """Each catalogue row is exposed from start-up, with samples and the catalogued labels."""
    exposed = families(exposition)
    for name, (kind, labels) in catalogue().items():
        assert name in exposed, f"{name} is catalogued but not exposed at start"
        got_kind, got_labels, samples = exposed[name]
        assert got_kind == kind, name
        assert got_labels == labels, name
        assert samples > 0, f"{name} has no series at start"
        suffix = SUFFIXES[kind]
        assert f"\n{name}{suffix}" in exposition, name


def test_every_exposed_metric_is_catalogued(exposition: str) -> None:
    """Nothing named cdr_detector_* is exposed without a catalogue row (the docs stay whole)."""
    ours = {n for n in families(exposition) if n.startswith("cdr_detector_")}
    assert ours == set(catalogue())


def test_process_collectors_and_no_created_series(exposition: str) -> None:
    """Process and platform collectors are on and `_created` series are off."""
    assert "\nprocess_cpu_seconds_total " in exposition
    assert "\npython_info{" in exposition
    assert "_created" not in exposition


def test_promtool_check_metrics_on_a_live_exposition(exposition: str) -> None:
    """`promtool check metrics` accepts the live /metrics without a single remark."""
    done = subprocess.run(
        [binary("promtool"), "check", "metrics"],
        input=exposition, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (done.stdout + done.stderr).strip()


def test_catalogue_names_the_metrics_documented_in_the_readme() -> None:
    """The catalogue is linked from the README."""
    assert "docs/metrics.md" in (ROOT / "README.md").read_text()
