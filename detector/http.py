"""The daemon's HTTP endpoint: /metrics, /healthz, /readyz and a small JSON status API.

Stdlib `ThreadingHTTPServer` on a background thread; nothing here knows about the core. The
service hands in its `Metrics` and two callables: `status()` for `/api/status` and `ready()`
for `/readyz` (e.g. ``(False, "rule reload failed: rules/x.yaml: ...")``).

    GET /metrics     Prometheus text (or OpenMetrics when the scraper asks for it)
    GET /healthz     200 "ok" while the process serves requests
    GET /readyz      200 or 503, JSON {"ready": bool, "detail": str}
    GET /api/status  200 JSON from status()
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import choose_encoder

from detector.metrics import Metrics

log = logging.getLogger(__name__)

StatusFn = Callable[[], Mapping[str, Any]]
ReadyFn = Callable[[], tuple[bool, str]]


class _Server(ThreadingHTTPServer):
    """A threading server that carries the callables its handlers answer from."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], metrics: Metrics, status: StatusFn, ready: ReadyFn
    ):
        super().__init__(address, _Handler)
        self.metrics = metrics
        self.status = status
        self.ready = ready


class _Handler(BaseHTTPRequestHandler):
    """Routes GET requests to the four endpoints."""

    server: _Server
    server_version = "cdr-detector"

    def do_GET(self) -> None:
        """Answer one GET request."""
        path = self.path.split("?", 1)[0]
        routes: dict[str, Callable[[], None]] = {
            "/metrics": self._metrics,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/api/status": self._status,
        }
        route = routes.get(path)
        if route is None:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")
            return
        try:
            route()
        except Exception:  # a failing status callback must not kill the server thread
            log.exception("http handler failed", extra={"path": path})
            self._json(500, {"error": "internal error"})

    def _metrics(self) -> None:
        encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
        self._send(200, content_type, encoder(self.server.metrics.registry))

    def _healthz(self) -> None:
        self._send(200, "text/plain; charset=utf-8", b"ok\n")

    def _readyz(self) -> None:
        ok, detail = self.server.ready()
        self._json(200 if ok else 503, {"ready": ok, "detail": detail})

    def _status(self) -> None:
        self._json(200, dict(self.server.status()))

    def _json(self, code: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body, default=str, sort_keys=True).encode()
        self._send(code, "application/json", data)

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Send access lines to debug logging instead of stderr."""
        log.debug(format, *args)


class HttpServer:
    """Serves metrics, health, readiness and status on a background thread."""

    def __init__(self, metrics: Metrics, status: StatusFn, ready: ReadyFn) -> None:
        self.metrics = metrics
        self.status = status
        self.ready = ready
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and start serving; port 0 picks a free port. Returns the bound address."""
        if self._server is not None:
            raise RuntimeError("HttpServer already started")
        self._server = _Server((host, port), self.metrics, self.status, self.ready)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="cdr-detector-http",
            daemon=True,
        )
        self._thread.start()
        bound_host, bound_port = self._server.server_address[:2]
        return str(bound_host), int(bound_port)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
