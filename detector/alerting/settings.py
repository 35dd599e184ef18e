"""The `alerting:` settings and the receiver sections, validated once at load into frozen objects.

```yaml
alerting:
  route:                                # Alertmanager's route tree; the root matches everything
    receiver: noc-slack
    group_by: [account]                 # one message per account; [...] = one per alert
    group_wait: 30s                     # wait this long to gather a new group's first alerts
    group_interval: 5m                  # then notify its changes at most this often
    repeat_interval: 4h                 # and repeat an unchanged, still-firing group this often
    exponential_repeat: false           # true: 4h, 8h, 16h … while nothing changes
    routes:
      - {matchers: ['severity="critical"'], receiver: pager, continue: true}
      - {matchers: ['team=~"fraud|billing"'], receiver: fraud-mail}
  receivers:
    - {name: noc-slack, slack: {webhook_url_env: NOC_SLACK_WEBHOOK}}
    - {name: pager, apprise: {urls_env: PAGER_APPRISE_URLS}}
    - {name: fraud-mail, email: {host: smtp.example.com, port: 465, tls: implicit, …}}
  mask: {enabled: true, keep_start: 5, keep_end: 3}
  links: {grafana_url: https://grafana.example.com, external_url: https://detector.example.com}
  enrichment: {enabled: true, calls: 3, rate_per_s: 1}
```

Every route's `receiver` must name a receiver; matchers and regexes must parse; a child route
inherits what it does not set. The top-level `slack`, `email`, `webhook` and `alertmanager`
sections still work: each defines a receiver of that name, and without a `route` every
configured receiver gets every alert (grouped by account with Alertmanager's timings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from detector.alerting.silences import Matcher
from detector.rules.spec import Duration


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SlackSettings(_Section):
    """A Slack incoming webhook; the URL is a secret."""

    webhook_url_env: str | None = "CDR_DETECTOR_SLACK_WEBHOOK"
    webhook_url_file: Path | None = None


class EmailSettings(_Section):
    """SMTP delivery; enabled when `host` and `to` are set.

    `tls`: `none`, `starttls` (upgrade a plain connection, port 587) or `implicit` (TLS from
    the first byte, port 465). `starttls: true` is the older spelling of `tls: starttls`.
    """

    host: str | None = None
    port: int = 25
    tls: Literal["none", "starttls", "implicit"] = "none"
    starttls: bool = False
    ca_file: Path | None = None
    sender: str = "cdr-detector@localhost"
    to: list[str] = Field(default_factory=list)
    username: str | None = None
    password_env: str | None = "CDR_DETECTOR_SMTP_PASSWORD"  # noqa: S105 - a variable name
    password_file: Path | None = None

    @property
    def tls_mode(self) -> str:
        """The effective TLS mode (`starttls: true` counts as `tls: starttls`)."""
        return "starttls" if self.starttls and self.tls == "none" else self.tls


class WebhookSettings(_Section):
    """Generic JSON webhook; the URL may carry a token so it is read like a secret."""

    url_env: str | None = "CDR_DETECTOR_WEBHOOK_URL"
    url_file: Path | None = None
    secret_env: str | None = "CDR_DETECTOR_WEBHOOK_SECRET"  # noqa: S105 - a variable name
    secret_file: Path | None = None


class TlsSettings(_Section):
    """TLS for an HTTPS receiver: a private CA, a client certificate, or (tests only) no check."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure_skip_verify: bool = False


class BasicAuthSettings(_Section):
    """HTTP basic authentication; the password comes from the environment or a file."""

    username: str
    password_env: str | None = None
    password_file: Path | None = None


class AlertmanagerSettings(_Section):
    """Push alerts to Alertmanager's /api/v2/alerts: every URL gets every alert (an HA pair).

    A firing alert is posted with `endsAt` = now + `ends_after` and posted again every
    `resend` (a fraction of it) while it fires, so Alertmanager never times it out and forgets
    it as soon as the daemon stops saying it fires.
    """

    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    bearer_token_env: str | None = None
    bearer_token_file: Path | None = None
    basic_auth: BasicAuthSettings | None = None
    tls: TlsSettings = TlsSettings()
    static_labels: dict[str, str] = Field(default_factory=dict)
    ends_after: Duration = 3600.0
    resend: Duration = 900.0
    timeout_s: float = Field(10.0, gt=0)

    @property
    def all_urls(self) -> list[str]:
        """`url` and `urls` together."""
        return ([self.url] if self.url else []) + list(self.urls)

    @model_validator(mode="after")
    def _resend_within_ends(self) -> AlertmanagerSettings:
        if self.resend >= self.ends_after:
            raise ValueError("resend must be shorter than ends_after (a quarter of it is usual)")
        return self


class AppriseSettings(_Section):
    """Any of apprise's ~100 services (Teams, Telegram, PagerDuty, Opsgenie, …) by URL.

    The URLs carry tokens, so they are read like secrets: whitespace-separated in an
    environment variable, or one per line in a file.
    """

    urls_env: str | None = "CDR_DETECTOR_APPRISE_URLS"
    urls_file: Path | None = None


KINDS = ("slack", "email", "webhook", "alertmanager", "apprise")


class ReceiverSettings(_Section):
    """One named receiver: exactly one kind, and optionally its own pacing."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    slack: SlackSettings | None = None
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None
    alertmanager: AlertmanagerSettings | None = None
    apprise: AppriseSettings | None = None
    rate_per_s: float | None = Field(None, gt=0)
    burst: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_kind(self) -> ReceiverSettings:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"receiver {self.name!r} needs exactly one of {', '.join(KINDS)} (has "
                f"{', '.join(kinds) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        """Which kind of receiver this is."""
        return next(k for k in KINDS if getattr(self, k) is not None)


class RouteSettings(_Section):
    """One node of the route tree; unset fields are inherited from the parent."""

    receiver: str | None = None
    matchers: list[str] = Field(default_factory=list)
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    exponential_repeat: bool | None = None
    continue_: bool = Field(False, alias="continue")
    routes: list[RouteSettings] = Field(default_factory=list)

    @field_validator("matchers")
    @classmethod
    def _parse(cls, matchers: list[str]) -> list[str]:
        for text in matchers:
            Matcher.parse(text)
        return matchers


class MaskSettings(_Section):
    """Phone numbers in notifications and logs (see `alerting.masking`)."""

    enabled: bool = True
    keep_start: int = Field(5, ge=0)
    keep_end: int = Field(3, ge=0)


class LinkSettings(_Section):
    """Where links in notifications (and Alertmanager's `generatorURL`) point.

    With `grafana_url`, an alert links to the account dashboard (`grafana_dashboard` uid,
    `var-account`); else to the daemon's own `/api/alerts/{fingerprint}` at `external_url`
    (default: the `metrics.listen` address).
    """

    grafana_url: str | None = None
    grafana_dashboard: str = "cdr-detector-account"
    external_url: str | None = None


class EnrichmentSettings(_Section):
    """Fetch a few calls of a new alert from the single-call endpoint (hangup cause, SIP code).

    Rate limited and optional: a notification never waits for it; what has arrived when the
    group is sent is shown.
    """

    enabled: bool = True
    calls: int = Field(3, ge=1, le=10)
    rate_per_s: float = Field(1.0, gt=0)
    queue: int = Field(100, ge=1)


class AlertingSettings(_Section):
    """Routing, grouping, receivers, masking, links and enrichment of notifications."""

    route: RouteSettings | None = None
    receivers: list[ReceiverSettings] = Field(default_factory=list)
    mask: MaskSettings = MaskSettings()
    links: LinkSettings = LinkSettings()
    enrichment: EnrichmentSettings = EnrichmentSettings()

    @model_validator(mode="after")
    def _unique_names(self) -> AlertingSettings:
        names = [r.name for r in self.receivers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"receiver names must be unique: {', '.join(twice)}")
        if "console" in names:
            raise ValueError("'console' is the built-in log receiver; pick another name")
        return self


def route_problems(route: RouteSettings, receivers: set[str], where: str = "route") -> list[str]:
    """Every route whose receiver is unknown, with its path (`alerting.route.routes[1]`)."""
    problems: list[str] = []
    if route.receiver is not None and route.receiver not in receivers:
        known = ", ".join(sorted(receivers)) or "none configured"
        problems.append(f"alerting.{where}.receiver: {route.receiver!r} is not a receiver "
                        f"(known: {known})")  # fmt: skip
    for i, child in enumerate(route.routes):
        problems += route_problems(child, receivers, f"{where}.routes[{i}]")
    return problems


def as_dict(settings: _Section) -> dict[str, Any]:
    """Plain data (for messages and tests)."""
    return settings.model_dump(by_alias=True)
