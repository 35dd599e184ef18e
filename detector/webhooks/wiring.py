"""Trunk webhooks from settings: the receiver, its rules, and its own listener."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from detector.attempts import AttemptMonitor, AttemptRules
from detector.config import Settings
from detector.errors import ConfigError
from detector.http import HttpLimits, HttpServer
from detector.metrics import Metrics
from detector.opencalls import OpenCalls
from detector.secret import read_secret
from detector.source.rows import Normalize
from detector.webhooks.ingest import WebhookIngest, WebhookSettings
from detector.webhooks.intake import EventClock, Intake


def build_intake(settings: Settings, metrics: Metrics, normalize: Normalize) -> Intake | None:
    """The trunk webhook receiver and its rules, when `trunk_webhooks.enabled`."""
    hooks = settings.trunk_webhooks
    if not hooks.enabled:
        return None
    secret = read_secret(hooks.secret_env, hooks.secret_file, "trunk webhook secret")
    if secret is None:
        raise ConfigError(
            f"trunk_webhooks.enabled needs the signing secret: set {hooks.secret_env} "
            "(or trunk_webhooks.secret_file)"
        )
    checks = WebhookSettings(
        hooks.path, hooks.signature_header, hooks.timestamp_header, hooks.window_s,
        hooks.max_body_bytes, hooks.max_queue,
    )  # fmt: skip
    ingest = WebhookIngest(secret.reveal().encode(), checks, count=metrics.webhook)
    rules = AttemptRules(**hooks.attempts.model_dump())
    poll = settings.poll
    calls = OpenCalls(max_s=poll.lateness_horizon_s)
    clock = EventClock(rate=poll.feed_s / poll.interval_s)
    return Intake(ingest, normalize, AttemptMonitor(rules), calls, clock)


def start_intake(
    settings: Settings, intake: Intake | None, metrics: Metrics, log: Any
) -> HttpServer | None:
    """Listen for trunk webhooks on their own address (`trunk_webhooks.listen`)."""
    if intake is None:
        return None
    hooks, m = settings.trunk_webhooks, settings.metrics
    limits = HttpLimits(m.threads, m.max_connections, m.request_timeout_s)
    server = HttpServer(
        metrics, dict, lambda: (True, "ok"), limits=limits, app=_routed(hooks.path, intake.ingest)
    )
    host, _, port = hooks.listen.rpartition(":")
    try:
        bound = server.start(host or "127.0.0.1", int(port))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"trunk_webhooks.listen {hooks.listen}: cannot listen ({exc})") from None
    log.info("trunk webhooks listening", url=f"http://{bound[0]}:{bound[1]}{hooks.path}")
    return server


def _routed(path: str, app: WebhookIngest) -> Callable[..., Iterable[bytes]]:
    """`app` at `path`; 404 elsewhere."""

    def route(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") == path:
            return app(environ, start)
        start("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]

    return route
