"""HTTP endpoints served on a real loopback port: metrics, health, readiness, the JSON API, and
the server's limits under a flood and a slowloris attack."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from detector.http import HttpLimits, HttpServer
from detector.metrics import Metrics
from tests.daemon import wait_for

TOKEN = "t0ken-for-tests"  # noqa: S105 - a test credential


@dataclass
class Daemon:
    """The state the service would expose: what status(), ready() and live() answer from."""

    ready: tuple[bool, str] = (True, "")
    live: tuple[bool, str] = (True, "ok")
    status: dict[str, Any] = field(default_factory=lambda: {"cycles": 3, "cursor": "c1"})

    @property
    def console(self) -> Daemon:
        """Where `build_http` takes the JSON API from (the service's `Console`)."""
        return self


def serve(daemon: Daemon, **options: Any) -> tuple[HttpServer, str]:
    """A started HttpServer on 127.0.0.1 answering from `daemon`."""
    metrics = Metrics(CollectorRegistry(), clock=lambda: 100.0)

    def status() -> Mapping[str, Any]:
        return daemon.status

    server = HttpServer(metrics, status, lambda: daemon.ready, lambda: daemon.live, **options)
    host, port = server.start("127.0.0.1", 0)
    return server, f"http://{host}:{port}"


@pytest.fixture
def served() -> Iterator[tuple[str, Daemon, Metrics]]:
    """A started HttpServer with the JSON API on, no token; stopped after the test."""
    daemon = Daemon()
    server, base = serve(daemon, api=True)
    try:
        yield base, daemon, server.app.metrics
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


def test_healthz_says_ok_and_fails_with_the_reason(served: tuple[str, Daemon, Metrics]) -> None:
    """/healthz answers 200 ok while the loop is live, 503 with the reason when it stalls."""
    base, daemon, _ = served
    r = httpx.get(base + "/healthz")
    assert (r.status_code, r.text) == (200, "ok\n")
    daemon.live = (False, "the poll loop has not completed a cycle for 900 s")
    r = httpx.get(base + "/healthz")
    assert (r.status_code, r.text) == (503, "the poll loop has not completed a cycle for 900 s\n")


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


def test_unknown_paths_are_404_and_writes_405(served: tuple[str, Daemon, Metrics]) -> None:
    """Paths outside the endpoints answer 404; a POST to a read-only endpoint 405."""
    base, _, _ = served
    assert httpx.get(base + "/admin").status_code == 404
    assert httpx.post(base + "/metrics").status_code == 405


def test_the_json_api_is_off_unless_configured() -> None:
    """Without `api=True`, /api/status is 404 and says which setting turns it on."""
    server, base = serve(Daemon())
    try:
        r = httpx.get(base + "/api/status")
    finally:
        server.stop()
    assert r.status_code == 404
    assert "metrics.status_api" in r.json()["error"]


def test_a_token_guards_the_json_api_but_not_metrics_or_probes() -> None:
    """With a token, /api/status needs `Bearer <token>`; /metrics and the probes stay open."""
    server, base = serve(Daemon(), api=True, token=TOKEN)
    try:
        missing = httpx.get(base + "/api/status")
        wrong = httpx.get(base + "/api/status", headers={"Authorization": "Bearer nope"})
        right = httpx.get(base + "/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
        open_paths = [httpx.get(base + p).status_code for p in ("/metrics", "/healthz", "/readyz")]
    finally:
        server.stop()
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert right.json()["cycles"] == 3
    assert open_paths == [200, 200, 200]


def _server_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("waitress"))


def test_a_flood_is_answered_by_a_fixed_pool_of_threads() -> None:
    """2,000 requests from 100 concurrent clients all get 200, served by at most 2 threads."""
    server, base = serve(Daemon(), limits=HttpLimits(threads=2, max_connections=50))
    port = int(base.rsplit(":", 1)[1])
    peak = [0]

    def hit(_: int) -> int:
        peak[0] = max(peak[0], _server_threads())
        return _get_status(port, "/healthz")

    try:
        with ThreadPoolExecutor(max_workers=100) as pool:
            codes = list(pool.map(hit, range(2000)))
    finally:
        server.stop()
    assert codes.count(200) == 2000
    assert 1 <= peak[0] <= 2


def _get_status(port: int, path: str) -> int:
    """One HTTP/1.0 GET on a fresh connection (a cheap client); the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        head = sock.recv(64)
    return int(head.split(b" ", 2)[1])


def _slow_client(port: int) -> socket.socket:
    """A connection that starts a request and never finishes it."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server hung up (reads EOF or a reset), trickling a header line meanwhile."""
    try:
        sock.sendall(b"X-Slow: 1\r\n")
        sock.settimeout(0.01)
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_slowloris_connections_are_cut_and_the_endpoint_keeps_answering() -> None:
    """200 connections trickling a header forever: each is closed after the request deadline,
    no thread is spent on them, and a normal scrape is answered meanwhile."""
    limits = HttpLimits(threads=2, max_connections=50, request_timeout_s=1.0)
    server, base = serve(Daemon(), limits=limits)
    port = int(base.rsplit(":", 1)[1])
    slow = [_slow_client(port) for _ in range(200)]
    try:
        assert httpx.get(base + "/healthz", timeout=60).status_code == 200
        assert _server_threads() <= 2
        open_ = list(slow)
        deadline = time.monotonic() + 60
        while open_ and time.monotonic() < deadline:
            open_ = [s for s in open_ if not _closed_by_server(s)]
            time.sleep(0.2)
        assert open_ == [], f"{len(open_)} slow connections still open"
    finally:
        for s in slow:
            s.close()
        server.stop()


def test_stop_releases_the_port() -> None:
    """After stop() nothing listens on the port and a second stop() is harmless."""
    server = HttpServer(Metrics(CollectorRegistry()), dict, lambda: (True, ""))
    host, port = server.start("127.0.0.1", 0)
    wait_for(lambda: httpx.get(f"http://{host}:{port}/healthz").status_code == 200, 10, "serving")
    server.stop()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{host}:{port}/healthz")


def test_an_open_json_api_beyond_loopback_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """status_api on all interfaces without a token is a configuration error naming the fix;
    with a token (or on loopback) the endpoint is built."""
    from detector.assembly import build_http
    from detector.config import load_settings
    from detector.errors import ConfigError, exit_code

    monkeypatch.delenv("CDR_DETECTOR_API_TOKEN", raising=False)
    daemon = Daemon()
    wide = load_settings(None, {"metrics.listen": "0.0.0.0:0", "metrics.status_api": True},
                         environ={})  # fmt: skip
    metrics = Metrics(CollectorRegistry())
    with pytest.raises(ConfigError) as caught:
        build_http(wide, metrics, daemon)  # type: ignore[arg-type]
    assert exit_code(caught.value) == 2
    assert "CDR_DETECTOR_API_TOKEN" in str(caught.value)
    monkeypatch.setenv("CDR_DETECTOR_API_TOKEN", TOKEN)
    assert build_http(wide, metrics, daemon).app.token == TOKEN  # type: ignore[arg-type]
