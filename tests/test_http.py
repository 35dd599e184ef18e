"""HTTP endpoints served on a real loopback port: metrics, health, readiness, status."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from detector.http import HttpServer
from detector.metrics import Metrics


@dataclass
class Daemon:
    """The state the service would expose: what status() and ready() answer from."""

    ready: tuple[bool, str] = (True, "")
    status: dict[str, Any] = field(default_factory=lambda: {"cycles": 3, "cursor": "c1"})


@pytest.fixture
def served() -> Iterator[tuple[str, Daemon, Metrics]]:
    """A started HttpServer on 127.0.0.1 with a free port; stopped after the test."""
    daemon = Daemon()
    metrics = Metrics(CollectorRegistry(), clock=lambda: 100.0)

    def status() -> Mapping[str, Any]:
        return daemon.status

    server = HttpServer(metrics, status, lambda: daemon.ready)
    host, port = server.start("127.0.0.1", 0)
    try:
        yield f"http://{host}:{port}", daemon, metrics
    finally:
        server.stop()


def test_metrics_serves_prometheus_text(served: tuple[str, Daemon, Metrics]) -> None:
    """/metrics returns the registry's exposition with Prometheus's content type."""
    base, _, metrics = served
    metrics.late_cdrs(4)
    r = httpx.get(base + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "cdr_detector_late_cdrs_total 4.0" in r.text.splitlines()


def test_metrics_speaks_openmetrics_when_asked(served: tuple[str, Daemon, Metrics]) -> None:
    """A scraper that accepts OpenMetrics gets OpenMetrics, ending with # EOF."""
    base, _, _ = served
    r = httpx.get(base + "/metrics", headers={"Accept": "application/openmetrics-text"})
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.endswith("# EOF\n")


def test_healthz_says_ok(served: tuple[str, Daemon, Metrics]) -> None:
    """/healthz answers 200 ok while the server runs."""
    base, _, _ = served
    r = httpx.get(base + "/healthz")
    assert (r.status_code, r.text) == (200, "ok\n")


def test_readyz_follows_the_ready_callback(served: tuple[str, Daemon, Metrics]) -> None:
    """/readyz is 200 when ready and 503 with the reason when not."""
    base, daemon, _ = served
    assert httpx.get(base + "/readyz").json() == {"ready": True, "detail": ""}
    daemon.ready = (False, "rule reload failed: rules/x.yaml: field 'window'")
    r = httpx.get(base + "/readyz")
    assert r.status_code == 503
    assert r.json() == {
        "ready": False,
        "detail": "rule reload failed: rules/x.yaml: field 'window'",
    }


def test_status_returns_the_status_mapping_as_json(served: tuple[str, Daemon, Metrics]) -> None:
    """/api/status serialises whatever status() returns, unknown types as strings."""
    base, daemon, _ = served
    daemon.status = {"cycles": 5, "path": __import__("pathlib").Path("/x")}
    r = httpx.get(base + "/api/status")
    assert r.headers["content-type"] == "application/json"
    assert json.loads(r.text) == {"cycles": 5, "path": "/x"}


def test_a_failing_status_callback_gives_500_and_the_server_survives(
    served: tuple[str, Daemon, Metrics],
) -> None:
    """An exception in status() becomes a 500 JSON error and later requests still work."""
    base, daemon, _ = served
    daemon.status = None  # type: ignore[assignment]  # dict(None) raises inside the handler
    r = httpx.get(base + "/api/status")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error"}
    assert httpx.get(base + "/healthz").status_code == 200


def test_unknown_paths_are_404(served: tuple[str, Daemon, Metrics]) -> None:
    """Paths outside the four endpoints answer 404."""
    base, _, _ = served
    assert httpx.get(base + "/admin").status_code == 404


def test_stop_releases_the_port() -> None:
    """After stop() nothing listens on the port and a second stop() is harmless."""
    server = HttpServer(Metrics(CollectorRegistry()), dict, lambda: (True, ""))
    host, port = server.start("127.0.0.1", 0)
    server.stop()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{host}:{port}/healthz")
