"""Daemon settings: a YAML file plus environment; secrets only from the environment or files.

Every section is optional; the defaults run against the real Vobiz API with the rules in
`rules/`. Secrets (API token, partner id, webhook URLs, SMTP password, webhook signing secret,
the JSON API's token) are never written in the YAML itself: the file names an environment
variable (`*_env`) or a file (`*_file`, which wins when both are set) that holds them, and
`Secret` values never print themselves. `deploy/config.example.yaml` lists every setting.

Precedence, lowest first: defaults, the YAML file, environment overrides, command-line flags.
An environment override is ``CDR_DETECTOR__<SECTION>__<KEY>=value`` (any depth, e.g.
``CDR_DETECTOR__POLL__INTERVAL_S=5``, ``CDR_DETECTOR__STATE__RETENTION__RESOLVED_ALERTS_S=1e6``,
``CDR_DETECTOR__ALLOWED_LATENESS_S=300``); the value is read as YAML, so lists (``[INR, USD]``),
numbers and booleans work. Validation reports every problem at once, on one line, each naming
the setting and, for overrides, the variable it came from.

Example::

    api:
      url: https://api.vobiz.ai/api/v1/partner
      rate_per_s: 5
    poll: {interval_s: 10}
    state: {path: /var/lib/cdr-detector/state.sqlite}
    rules: {dir: /etc/cdr-detector/rules}
    metrics: {listen: "127.0.0.1:9108"}
    slack: {webhook_url_env: CDR_DETECTOR_SLACK_WEBHOOK}
    email: {host: smtp.example.com, port: 587, starttls: true, sender: fraud@example.com,
            to: [noc@example.com], username: fraud, password_env: CDR_DETECTOR_SMTP_PASSWORD}
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from detector.alerting.settings import (
    AlertingSettings,
    AlertmanagerSettings,
    EmailSettings,
    SlackSettings,
    WebhookSettings,
    route_problems,
)
from detector.errors import ConfigError
from detector.overrides import ENV_PREFIX, env_overrides, set_dotted
from detector.rules.kinds.base import LATENESS_S
from detector.secret import AUTH_ID_ENV, AUTH_TOKEN_ENV, Secret, read_secret
from detector.source.settings import PollerConfig

API_PATH = "/api/v1/partner"
"""Where the partner API lives under its host (added to a bare base URL; a 404 elsewhere says
to add it)."""

__all__ = [
    "AlertingSettings",
    "AlertmanagerSettings",
    "EmailSettings",
    "SlackSettings",
    "WebhookSettings",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiSettings(_Section):
    """Where the partner API is and how hard to push it."""

    url: str = "https://api.vobiz.ai/api/v1/partner"
    """A bare host (``http://127.0.0.1:8080``) gets the API path `/api/v1/partner` added."""
    auth_id_env: str = AUTH_ID_ENV
    auth_id_file: Path | None = None
    auth_token_env: str = AUTH_TOKEN_ENV
    auth_token_file: Path | None = None
    rate_per_s: float = Field(5.0, gt=0)
    timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(5, ge=0)
    max_response_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    """The most one response may carry; a larger page is read again in smaller pages and a
    single row over it is quarantined (`row_too_large`), so a poison page cannot exhaust
    memory or block the rows after it."""

    @field_validator("url")
    @classmethod
    def _api_path(cls, url: str) -> str:
        """A URL without a path is the API's host: add the partner API path."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if parts.path in {"", "/"}:
            return url.rstrip("/") + API_PATH
        return url


_READ = PollerConfig()
"""The poller's own defaults, which the `poll:` section takes (one set of defaults per concept)."""


class PollSettings(_Section):
    """How often and how far the poller looks (defaults: `detector.source.settings`)."""

    interval_s: float = Field(_READ.interval_s, gt=0)
    per_page: int = Field(_READ.per_page, ge=1, le=100)
    date_tz: str = _READ.date_tz
    lateness_horizon_s: float = Field(_READ.horizon_s, gt=0)
    """The longest call (talk seconds) the platform allows; Vobiz ends longer ones itself with
    hangup cause 6000 "max duration reached". Every call up to it is read exactly once, in
    time; a longer one is still read (late), counted and logged. Set it to your trunks' limit."""
    max_ring_s: float = Field(_READ.max_ring_s, ge=0)
    max_lag_s: float = Field(_READ.max_lag_s, ge=0)
    tier_bounds_s: tuple[int, ...] = _READ.tier_bounds_s
    """Talk-duration bounds of the tiers (bounds at or above the horizon are ignored). The
    tiers under 90 s are the head (the default: unanswered, then answered under 90 s)."""
    tier_every_s: tuple[float, ...] = _READ.tier_every_s
    """The longest each tier waits between reads (its latency bound); a tier is read sooner
    when its measured re-read overhead allows (see `target_overhead`)."""
    latency_first: bool = True
    """Read the head of the feed (the tiers under 90 s: unanswered and short calls) at every
    poll whenever half of the API rate limit affords it; else their overhead-targeted cadence."""
    target_overhead: float = Field(_READ.target_overhead, ge=0)
    """Requests per tier read above one full page per `per_page` new CDRs, as a fraction, that
    sets each tier's cadence: lower means fewer requests and later detection; 0 reads every tier
    at exactly `tier_every_s`."""
    workers: int = Field(_READ.workers, ge=1)
    feed_time_per_poll_s: float | None = Field(None, gt=0)
    """Feed time one poll stands for in tier cadences and in how fast calls in progress age
    between webhook events (default `interval_s`); set it to `interval_s × speed` against a
    simulator running faster than real time."""
    start_back_s: float = Field(_READ.start_back_s, ge=0)
    max_clock_skew_s: float = Field(_READ.max_clock_skew_s, ge=0)
    """A row ending later than now plus this is rejected as `future_time` (kept in the state's
    `rejected` table): a row dated years ahead must not move event time."""
    max_pages_per_cycle: int | None = Field(None, ge=1)
    """Pages one cycle may read before it commits and continues in the next (default: the
    requests `api.rate_per_s` allows per `interval_s`, at least 50; 50 at the defaults), see
    `cycle_pages`."""
    seen_ttl_s: float = Field(2 * 86400.0, gt=0)
    mode: Literal["global", "per_account"] = "global"
    trunk_accounts: dict[str, str] = Field(default_factory=dict)

    @property
    def feed_s(self) -> float:
        """Feed time one poll stands for: `feed_time_per_poll_s`, else `interval_s`."""
        return self.feed_time_per_poll_s or self.interval_s

    def cycle_pages(self, rate_per_s: float) -> int:
        """Pages one cycle may read: `max_pages_per_cycle`, else what `rate_per_s` allows per
        poll interval, at least the poller's own 50. A fixed 50 is 10 s of requests at 5 a
        second: at a longer interval the head's reads (budgeted at half the rate limit per
        interval) would be cut every poll and resumed down to their time bound.

        >>> PollSettings().cycle_pages(5.0), PollSettings(interval_s=60).cycle_pages(5.0)
        (50, 300)
        """
        if self.max_pages_per_cycle is not None:
            return self.max_pages_per_cycle
        return max(_READ.max_pages_per_cycle, math.ceil(rate_per_s * self.interval_s))


class RetentionSettings(_Section):
    """How long finished rows stay in the state file (see `detector.housekeeping`)."""

    sent_notifications_s: float = Field(7 * 86400.0, gt=0)
    """Sent notifications, counted from when they were sent (dead letters are kept)."""
    resolved_alerts_s: float = Field(30 * 86400.0, gt=0)
    """Alert episodes, counted from their resolution in event time (firing ones are kept)."""
    rejected_rows_s: float = Field(30 * 86400.0, gt=0)
    """Rejected wire rows (the `rejected` table `state inspect` shows), from their rejection."""
    rejected_rows_max: int = Field(100_000, ge=1)
    """At most this many rejected rows are kept (the newest): a feed of nothing but poison
    cannot fill the disk."""


class StateSettings(_Section):
    """Where the SQLite state file lives, and what it keeps."""

    path: Path = Path("state.sqlite")
    retention: RetentionSettings = RetentionSettings()


class RulesSettings(_Section):
    """Which rule directory to load (and watch for changes)."""

    dir: Path = Path("rules")


class ModelSettings(_Section):
    """The online anomaly model: configured in the rule directory's `_models.yaml`; these
    override its `enabled` and `mode` for this deployment (None: the file decides)."""

    enabled: bool = True
    mode: Literal["shadow", "live"] | None = None
    bucket_s: float | None = Field(None, gt=0)
    """Deprecated: set `bucket` in `_models.yaml` (kept so older settings files load)."""
    warmup_buckets: int | None = Field(None, ge=0)
    """Deprecated: set `warmup` in `_models.yaml` (kept so older settings files load)."""
    min_slot_days: int | None = Field(None, ge=0)
    """Deprecated and ignored: unseen slots fall back on the account's other hours."""


class MetricsSettings(_Section):
    """The HTTP endpoint serving /metrics, /healthz, /readyz and the JSON API (`detector.http`).

    The JSON API (`/api/…`: recent alerts with accounts, dead letters) is off unless
    `status_api` is true; beyond loopback it then needs a bearer token (`api_token_env` or
    `api_token_file`), and the daemon refuses to start without one.
    """

    listen: str = "127.0.0.1:9108"
    account_cap: int = Field(200, ge=0)
    status_api: bool = False
    api_token_env: str | None = "CDR_DETECTOR_API_TOKEN"  # noqa: S105 - a variable name
    api_token_file: Path | None = None
    threads: int = Field(4, ge=1)
    max_connections: int = Field(100, ge=1)
    request_timeout_s: float = Field(10.0, gt=0)
    currencies: tuple[str, ...] = ("INR",)
    """Currencies whose spend series exist from start-up (others appear with their first cost)."""


class HealthSettings(_Section):
    """When /readyz and /healthz fail (see `detector.health`)."""

    max_failed_cycles: int = Field(3, ge=1)
    max_event_lag_s: float = Field(0.0, ge=0)
    """0: off. Else /readyz fails when the newest CDR started longer ago than this."""
    stall_s: float = Field(600.0, gt=0)


class DeliverySettings(_Section):
    """How each receiver is paced and how much may wait for it (see `alerting.delivery`)."""

    rate_per_s: float = Field(1.0, gt=0)
    burst: int = Field(5, ge=1)
    max_pending: int = Field(10_000, ge=1)
    shutdown_grace_s: float = Field(5.0, ge=0)


class LogSettings(_Section):
    """Structured logs: JSON for machines, console for people."""

    format: Literal["json", "console"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"
    summary_every_s: float = Field(300.0, gt=0)
    """An info line summing up the cycles since the last one; each cycle logs at debug."""


class AttemptSettings(_Section):
    """The call-attempt rules fed by CallInitiated webhooks (see `detector.attempts`)."""

    rate_window_s: float = Field(10.0, gt=0)
    rate_warning: int = Field(20, ge=1)
    rate_critical: int = Field(50, ge=1)
    refused_window_s: float = Field(60.0, gt=0)
    refused_min: int = Field(10, ge=1)
    refused_warning: float = Field(0.5, gt=0, le=1)
    refused_critical: float = Field(0.9, gt=0, le=1)


class TrunkWebhookSettings(_Section):
    """Receiving the trunks' CallInitiated and Hangup webhooks (see `detector.webhooks`).

    Off by default. The receiver listens on its own address so only it need face the trunks
    (put TLS in front); requests must be signed with the secret (HMAC-SHA256 of the body).
    """

    enabled: bool = False
    listen: str = "127.0.0.1:9110"
    path: str = "/webhooks/vobiz"
    secret_env: str = "CDR_DETECTOR_TRUNK_WEBHOOK_SECRET"  # noqa: S105 - a variable name
    secret_file: Path | None = None
    signature_header: str = "X-Vobiz-Signature"
    """Vobiz does not publish the header its HMAC-SHA256 goes in: set what your trunks send."""
    timestamp_header: str = "X-Vobiz-Timestamp"
    """Used only when the body carries no timestamp of its own."""
    window_s: float = Field(300.0, gt=0)
    """An event older (or newer) than this is refused as stale; request ids are remembered
    this long to refuse replays."""
    max_body_bytes: int = Field(65_536, ge=1024)
    max_queue: int = Field(10_000, ge=1)
    attempts: AttemptSettings = AttemptSettings()


class Settings(_Section):
    """The whole daemon configuration."""

    api: ApiSettings = ApiSettings()
    poll: PollSettings = PollSettings()
    state: StateSettings = StateSettings()
    rules: RulesSettings = RulesSettings()
    model: ModelSettings = ModelSettings()
    metrics: MetricsSettings = MetricsSettings()
    slack: SlackSettings = SlackSettings()
    email: EmailSettings = EmailSettings()
    webhook: WebhookSettings = WebhookSettings()
    alertmanager: AlertmanagerSettings = AlertmanagerSettings()
    alerting: AlertingSettings = AlertingSettings()
    log: LogSettings = LogSettings()
    health: HealthSettings = HealthSettings()
    delivery: DeliverySettings = DeliverySettings()
    trunk_webhooks: TrunkWebhookSettings = TrunkWebhookSettings()
    allowed_lateness_s: float = Field(LATENESS_S, ge=0)

    @model_validator(mode="after")
    def _routes_name_receivers(self) -> Settings:
        if self.alerting.route is not None:
            known = {r.name for r in self.alerting.receivers} | set(LEGACY_RECEIVERS) | {"null"}
            problems = route_problems(self.alerting.route, known)
            if problems:
                raise ValueError("; ".join(problems))
        return self


LEGACY_RECEIVERS = ("slack", "email", "webhook", "alertmanager")
"""Receivers defined by the top-level sections of the same name."""


def load_settings(
    path: Path | None,
    overrides: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read settings from `path` (or defaults), then environment overrides (`environ`, default
    `os.environ`), then dotted `overrides` (command-line flags); validate once, reporting
    every problem at once."""
    raw = _read_yaml(path) if path is not None else {}
    from_env = env_overrides(os.environ if environ is None else environ)
    for dotted, (_, value) in from_env.items():
        set_dotted(raw, dotted, value)
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value)
    where = str(path) if path is not None else "settings"
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(e, from_env) for e in exc.errors()]
        raise ConfigError(_one_line(where, problems)) from exc


def peek_log_format(path: Path | None, environ: Mapping[str, str] | None = None) -> str:
    """The log format settings would choose, guessed without validating (for reporting an
    error in settings that do not load); "console" when nothing says otherwise."""
    env = os.environ if environ is None else environ
    chosen = env.get(ENV_PREFIX + "LOG__FORMAT")
    if chosen is None and path is not None:
        try:
            loaded = yaml.safe_load(path.read_text())
            chosen = loaded.get("log", {}).get("format") if isinstance(loaded, dict) else None
        except (OSError, yaml.YAMLError, AttributeError):
            chosen = None
    return "json" if chosen == "json" else "console"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return loaded


def _problem(error: Any, from_env: Mapping[str, tuple[str, Any]]) -> str:
    """One validation error as 'setting: message' (naming the variable it came from)."""
    dotted = ".".join(str(p) for p in error["loc"])
    message = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
    if not dotted:  # a check across sections names its settings itself
        return str(message).removeprefix("Value error, ")
    source = next((f" (from {var})" for d, (var, _) in from_env.items() if d == dotted), "")
    return f"{dotted}{source}: {message}"


def _one_line(where: str, problems: list[str]) -> str:
    count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
    return f"{where}: {count}: " + "; ".join(problems)


def credentials(api: ApiSettings) -> tuple[str, Secret]:
    """The partner id and token, or a ConfigError saying which variables or files to set."""
    auth_id = read_secret(api.auth_id_env, api.auth_id_file, "api.auth_id_file")
    token = read_secret(api.auth_token_env, api.auth_token_file, "api.auth_token_file")
    if auth_id is None or not auth_id.reveal() or token is None:
        raise ConfigError(
            f"missing API credentials: set {api.auth_id_env} and {api.auth_token_env} "
            "(or api.auth_id_file and api.auth_token_file) to your Vobiz partner id and token"
        )
    return auth_id.reveal(), token
