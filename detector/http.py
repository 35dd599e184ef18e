"""The daemon's HTTP endpoint: /metrics, /healthz, /readyz and an optional JSON API.

Served by **waitress** (a maintained pure-Python WSGI server) on a background thread, with
prometheus-client's own WSGI app answering `/metrics` (content negotiation, gzip). Waitress
reads every connection from one event loop and runs requests on a fixed pool of `threads`, so
a flood queues instead of spawning a thread per connection; `max_connections` caps open
connections (beyond it new ones wait in the listen backlog), idle connections close after
`request_timeout_s`, and so does a connection that has not delivered a complete request within
`request_timeout_s` of its first byte (waitress alone resets its idle timer on every byte, so
a slowloris client trickling a header could hold a connection forever). Every request is
logged at debug level and every failure as one structured line; no traceback reaches stderr.

    GET /metrics     Prometheus text (or OpenMetrics when the scraper asks for it)
    GET /healthz     200 "ok" while the poll loop completes cycles, else 503 and why
    GET /readyz      200 or 503, JSON {"ready": bool, "detail": str}
    GET /api/status  JSON from status(): only when the API is enabled, and then with
                     `Authorization: Bearer <token>` whenever a token is configured (one must
                     be when the endpoint listens beyond loopback: see `config.MetricsSettings`)
    GET /api/alerts/FINGERPRINT      the alert's recorded transitions (a notification's link)
    GET /api/silences                active silences
    POST /api/silences               {"matchers": [...], "duration": "2h", "comment": "..."}
    DELETE /api/silences/ID          expire a silence now
    GET /api/dead-letters            the newest dead-lettered notifications

The service hands in its `Metrics` and callables; nothing here knows about the core.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from prometheus_client import make_wsgi_app
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from detector.metrics import Metrics

log = structlog.get_logger(component="http")

StatusFn = Callable[[], Mapping[str, Any]]
CheckFn = Callable[[], tuple[bool, str]]
StartResponse = Callable[..., Any]
Environ = dict[str, Any]
MAX_BODY = 64 * 1024


class ApiBackend(Protocol):
    """What the JSON API reads and changes besides the status (the service implements it)."""

    def alert_history(self, fingerprint: str) -> list[dict[str, Any]]:
        """Recorded transitions of one alert, newest first (empty when unknown)."""
        ...

    def list_silences(self) -> list[dict[str, Any]]:
        """Active silences."""
        ...

    def alert_chart(self, fingerprint: str) -> bytes | None:
        """The alert's chart as PNG, None when there is none (yet)."""
        ...

    def add_silence(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a silence from a request body; ValueError says what is wrong."""
        ...

    def expire_silence(self, silence_id: str) -> bool:
        """End a silence now; False when there is no such active silence."""
        ...

    def dead_letters(self) -> list[dict[str, Any]]:
        """The newest dead letters."""
        ...


def _always_live() -> tuple[bool, str]:
    return True, "ok"


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """How much the endpoint accepts.

    threads: requests served at once (the rest queue).
    max_connections: connections open at once (more wait in the backlog).
    request_timeout_s: a connection idle this long, or this slow to send a whole request, closes.
    """

    threads: int = 4
    max_connections: int = 100
    request_timeout_s: float = 10.0


class HttpApp:
    """The WSGI application: routes, bearer-token check, JSON answers, structured logs."""

    def __init__(
        self,
        metrics: Metrics,
        status: StatusFn,
        ready: CheckFn,
        live: CheckFn = _always_live,
        *,
        api: bool = False,
        token: str | None = None,
        backend: ApiBackend | None = None,
    ) -> None:
        self.metrics = metrics
        self.metrics_app = make_wsgi_app(metrics.registry)
        self.status, self.ready, self.live = status, ready, live
        self.api, self.token, self.backend = api, token, backend

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        began = time.monotonic()
        path = environ.get("PATH_INFO", "")
        status_line = ["000"]

        def recording(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status_line[0] = status.split(" ", 1)[0]
            return start_response(status, headers, *exc)

        try:
            body = self._route(environ, path, recording)
        except Exception:  # a failing callback must not kill the server thread
            log.exception("http handler failed", path=path)
            body = _json(recording, 500, {"error": "internal error"})
        log.debug(
            "http request", method=environ.get("REQUEST_METHOD"), path=path,
            status=status_line[0], ms=round((time.monotonic() - began) * 1000, 1),
            client=environ.get("REMOTE_ADDR"),
        )  # fmt: skip
        return body

    def _route(self, environ: Environ, path: str, start: StartResponse) -> Iterable[bytes]:
        if path.startswith("/api/"):
            return self._api(environ, path, start)
        if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
            return _json(start, 405, {"error": "only GET is served here"})
        if path == "/metrics":
            return self.metrics_app(environ, start)  # type: ignore[no-any-return]
        if path == "/healthz":
            ok, detail = self.live()
            return _text(start, 200 if ok else 503, "ok\n" if ok else detail + "\n")
        if path == "/readyz":
            ok, detail = self.ready()
            return _json(start, 200 if ok else 503, {"ready": ok, "detail": detail})
        return _json(start, 404, {"error": f"no route {path[:100]}"})

    def _api(self, environ: Environ, path: str, start: StartResponse) -> Iterable[bytes]:
        if not self.api:
            return _json(start, 404, {"error": "the JSON API is off; set metrics.status_api: true"})
        if self.token is not None and not _bearer_ok(environ, self.token):
            return _json(
                start, 401, {"error": "missing or wrong bearer token"},
                [("WWW-Authenticate", 'Bearer realm="cdr-detector"')],
            )  # fmt: skip
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/api/status" and method == "GET":
            return _json(start, 200, dict(self.status()))
        if self.backend is not None:
            return self._backend(environ, method, path, start, self.backend)
        return _json(start, 404, {"error": f"no route {method} {path[:100]}"})

    def _backend(
        self, environ: Environ, method: str, path: str, start: StartResponse, api: ApiBackend
    ) -> Iterable[bytes]:
        if method == "GET" and path.startswith("/api/alerts/"):
            return _alert(start, api, path.removeprefix("/api/alerts/"))
        if path == "/api/silences" and method == "GET":
            return _json(start, 200, {"silences": api.list_silences()})
        if path == "/api/silences" and method == "POST":
            return self._create_silence(environ, start, api)
        if path.startswith("/api/silences/") and method == "DELETE":
            expired = api.expire_silence(path.removeprefix("/api/silences/"))
            return _json(start, 200 if expired else 404, {"expired": expired})
        if path == "/api/dead-letters" and method == "GET":
            return _json(start, 200, {"dead_letters": api.dead_letters()})
        return _json(start, 404, {"error": f"no route {method} {path[:100]}"})

    def _create_silence(
        self, environ: Environ, start: StartResponse, api: ApiBackend
    ) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return _json(start, 400, {"error": f"send a JSON body of at most {MAX_BODY} bytes"})
        try:
            body = json.loads(environ["wsgi.input"].read(length))
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return _json(start, 201, api.add_silence(body))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return _json(start, 400, {"error": str(exc)[:500]})


def _bearer_ok(environ: Environ, token: str) -> bool:
    given = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)


def _json(
    start: StartResponse,
    code: int,
    body: Mapping[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = json.dumps(body, default=str, sort_keys=True).encode()
    return _send(start, code, "application/json", data, headers)


def _alert(start: StartResponse, api: ApiBackend, rest: str) -> list[bytes]:
    """`FINGERPRINT`: the alert's transitions; `FINGERPRINT/chart.png`: its chart."""
    if not rest.endswith("/chart.png"):
        history = api.alert_history(rest)
        return _json(start, 200 if history else 404, {"transitions": history})
    png = api.alert_chart(rest.removesuffix("/chart.png"))
    if png is None:
        why = "no chart for this alert: its calls were not fetched (yet) or had nothing to draw"
        return _json(start, 404, {"error": why})
    return _send(start, 200, "image/png", png)


def _text(start: StartResponse, code: int, text: str) -> list[bytes]:
    return _send(start, code, "text/plain; charset=utf-8", text.encode())


_REASONS = {
    200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


def _send(
    start: StartResponse,
    code: int,
    content_type: str,
    data: bytes,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    start(
        f"{code} {_REASONS.get(code, 'Status')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            *(headers or []),
        ],
    )
    return [data]


class _DeadlineChannel(HTTPChannel):  # type: ignore[misc]
    """A waitress channel that remembers when its partial request started arriving."""

    partial: object | None = None
    partial_since: float = 0.0

    def received(self, data: bytes) -> bool:
        """Parse `data` (waitress), then note whether a request is still incomplete."""
        result = bool(super().received(data))
        request = self.request
        if request is None:
            self.partial = None
        elif request is not self.partial:
            self.partial, self.partial_since = request, time.time()
        return result


class _Server(TcpWSGIServer):  # type: ignore[misc]
    """Waitress's TCP server, also closing connections too slow to send a whole request."""

    channel_class = _DeadlineChannel

    def maintenance(self, now: float) -> None:
        """Close idle channels (waitress) and channels slower than the request deadline."""
        super().maintenance(now)
        cutoff = now - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            if channel.partial is not None and channel.partial_since < cutoff:
                channel.will_close = True


class HttpServer:
    """Serves metrics, health, readiness and the API on a background thread."""

    def __init__(
        self,
        metrics: Metrics,
        status: StatusFn,
        ready: CheckFn,
        live: CheckFn = _always_live,
        *,
        api: bool = False,
        token: str | None = None,
        backend: ApiBackend | None = None,
        limits: HttpLimits = HttpLimits(),
        app: Callable[..., Iterable[bytes]] | None = None,
    ) -> None:
        """`app` replaces the endpoint's own routes (the trunk webhook receiver's listener)."""
        self.app = app or HttpApp(
            metrics, status, ready, live, api=api, token=token, backend=backend
        )
        self.limits = limits
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and start serving; port 0 picks a free port. Returns the bound address."""
        if self._server is not None:
            raise RuntimeError("HttpServer already started")
        timeout = self.limits.request_timeout_s
        self._server = _Server(
            self.app, host=host, port=port, threads=self.limits.threads,
            connection_limit=self.limits.max_connections, channel_timeout=timeout,
            cleanup_interval=max(min(timeout / 4, 30.0), 0.25), asyncore_use_poll=True,
            ident="cdr-detector", expose_tracebacks=False, log_socket_errors=False,
        )  # fmt: skip
        self._thread = threading.Thread(
            target=self._server.run, name="cdr-detector-http", daemon=True
        )
        self._thread.start()
        return str(self._server.effective_host), int(self._server.effective_port)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.task_dispatcher.shutdown(timeout=5)
        server.trigger.pull_trigger(lambda: _close_all(server))
        if thread is not None:
            thread.join(timeout=10)


def _close_all(server: _Server) -> None:
    """Close every socket of the server's map (run on its own loop thread)."""
    for dispatcher in list(server._map.values()):  # waitress keeps its map here
        dispatcher.close()
