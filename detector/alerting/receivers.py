"""Receivers and the route tree from settings: what the daemon notifies, and how.

Receivers come from `alerting.receivers` (named, any kind) and from the older top-level
`slack`, `email`, `webhook` and `alertmanager` sections (named after the section); `console`
(the log) always exists. A named receiver whose secret is missing is a configuration error
(exit 2), as is a route naming a receiver that is not configured; a receiver whose URL is
malformed is disabled with one error line and its notifications dead-lettered, so the others
keep working (`notifiers.unusable`). Without `alerting.route`, every receiver gets every alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from detector.alerting.delivery import Pacing
from detector.alerting.notification import CONSOLE, NULL, Destinations
from detector.alerting.notifiers import Notifier
from detector.alerting.notifiers.alertmanager import AlertmanagerNotifier
from detector.alerting.notifiers.apprise import AppriseNotifier
from detector.alerting.notifiers.console import ConsoleNotifier
from detector.alerting.notifiers.email import EmailNotifier
from detector.alerting.notifiers.slack import SlackNotifier
from detector.alerting.notifiers.unusable import UnusableNotifier, url_problem
from detector.alerting.notifiers.webhook import WebhookNotifier
from detector.alerting.routing import Route, build, fan_out
from detector.alerting.settings import (
    AlertmanagerSettings,
    AppriseSettings,
    EmailSettings,
    ReceiverSettings,
    SlackSettings,
    WebhookSettings,
)
from detector.config import Settings
from detector.errors import ConfigError
from detector.secret import Secret, read_secret


def build_receivers(settings: Settings, log: Any) -> dict[str, Notifier]:
    """Every configured receiver by name, `console` included."""
    out: dict[str, Notifier] = {CONSOLE: ConsoleNotifier(log=log)}
    legacy = _legacy(settings)
    for name, make in legacy.items():
        notifier = make(log)
        if notifier is not None:
            out[name] = notifier
    for receiver in settings.alerting.receivers:
        out[receiver.name] = _named(receiver, log)
    return out


def _legacy(settings: Settings) -> dict[str, Callable[[Any], Notifier | None]]:
    """The top-level sections: each makes its receiver when configured, else None."""
    return {
        "slack": lambda log: _slack("slack", settings.slack, log, required=False),
        "email": lambda log: _email("email", settings.email, required=False),
        "webhook": lambda log: _webhook("webhook", settings.webhook, log, required=False),
        "alertmanager": lambda log: _alertmanager(
            "alertmanager", settings.alertmanager, log, required=False
        ),
    }


def _named(receiver: ReceiverSettings, log: Any) -> Notifier:
    name, kind = receiver.name, receiver.kind
    made: Notifier | None = None
    if receiver.slack is not None:
        made = _slack(name, receiver.slack, log, required=True)
    elif receiver.email is not None:
        made = _email(name, receiver.email, required=True)
    elif receiver.webhook is not None:
        made = _webhook(name, receiver.webhook, log, required=True)
    elif receiver.alertmanager is not None:
        made = _alertmanager(name, receiver.alertmanager, log, required=True)
    elif receiver.apprise is not None:
        made = _apprise(name, receiver.apprise)
    if made is None:  # pragma: no cover - `required=True` raises instead
        raise ConfigError(f"alerting.receivers: {name} ({kind}) could not be built")
    return made


def _need(value: Secret | None, name: str, what: str, required: bool) -> Secret | None:
    if value is None and required:
        raise ConfigError(f"alerting.receivers: {name} has no {what}: set its *_env or *_file")
    return value


def _slack(name: str, s: SlackSettings, log: Any, *, required: bool) -> Notifier | None:
    url = _need(read_secret(s.webhook_url_env, s.webhook_url_file, f"{name} webhook"),
                name, "webhook URL", required)  # fmt: skip
    return None if url is None else _checked(name, url, lambda u: SlackNotifier(u, name=name), log)


def _email(name: str, s: EmailSettings, *, required: bool) -> Notifier | None:
    if not (s.host and s.to):
        if required:
            raise ConfigError(f"alerting.receivers: {name} (email) needs host and to")
        return None
    password = read_secret(s.password_env, s.password_file, f"{name} smtp password")
    return EmailNotifier(
        s.host, s.port, sender=s.sender, to=s.to, tls=s.tls_mode, ca_file=s.ca_file,
        username=s.username, password=password, name=name,
    )  # fmt: skip


def _webhook(name: str, s: WebhookSettings, log: Any, *, required: bool) -> Notifier | None:
    url = _need(read_secret(s.url_env, s.url_file, f"{name} url"), name, "URL", required)
    if url is None:
        return None
    secret = read_secret(s.secret_env, s.secret_file, f"{name} signing secret")
    return _checked(name, url, lambda u: WebhookNotifier(u, secret=secret, name=name), log)


def _alertmanager(
    name: str, s: AlertmanagerSettings, log: Any, *, required: bool
) -> Notifier | None:
    urls = s.all_urls
    if not urls:
        if required:
            raise ConfigError(f"alerting.receivers: {name} (alertmanager) needs url or urls")
        return None
    for url in urls:
        problem = url_problem(url)
        if problem is not None:
            return _disabled(name, f"an Alertmanager URL is {problem}", log)
    token = read_secret(s.bearer_token_env, s.bearer_token_file, f"{name} bearer token")
    basic = None
    if s.basic_auth is not None:
        auth = s.basic_auth
        password = read_secret(auth.password_env, auth.password_file, f"{name} password")
        basic = (auth.username, password or Secret(""))
    tls = s.tls
    return AlertmanagerNotifier(
        urls, name=name, ends_after_s=s.ends_after, static_labels=s.static_labels,
        bearer_token=token, basic_auth=basic, verify=_verify(tls.ca_file, tls.insecure_skip_verify),
        cert=_cert(tls.cert_file, tls.key_file), timeout_s=s.timeout_s,
    )  # fmt: skip


def _apprise(name: str, s: AppriseSettings) -> Notifier:
    raw = read_secret(s.urls_env, s.urls_file, f"{name} apprise URLs")
    urls = raw.reveal().split() if raw is not None else []
    if not urls:
        raise ConfigError(f"alerting.receivers: {name} (apprise) has no URLs: set its urls_env")
    try:
        return AppriseNotifier(urls, name=name)
    except ValueError as exc:
        raise ConfigError(f"alerting.receivers: {exc}") from None


def _verify(ca_file: Path | None, insecure: bool) -> str | bool:
    if insecure:
        return False
    return str(ca_file) if ca_file is not None else True


def _cert(cert: Path | None, key: Path | None) -> tuple[str, str] | None:
    if cert is None:
        return None
    return str(cert), str(key or cert)


def _checked(name: str, url: Secret, make: Callable[[str], Notifier], log: Any) -> Notifier:
    """`make(url)`, or an `UnusableNotifier` (logged) when the URL cannot work."""
    problem = url_problem(url.reveal())
    if problem is None:
        return make(url.reveal())
    return _disabled(name, f"its URL is {problem}", log)


def _disabled(name: str, problem: str, log: Any) -> Notifier:
    reason = f"{problem}; fix the setting and restart"
    log.error("receiver disabled; its notifications will be dead-lettered", receiver=name,
              reason=reason)  # fmt: skip
    return UnusableNotifier(name, reason)


def build_destinations(settings: Settings, receivers: Mapping[str, Notifier]) -> Destinations:
    """The route tree (or a fan-out to every receiver) and Alertmanager's re-post intervals."""
    route: Route
    if settings.alerting.route is not None:
        route = build(settings.alerting.route)
        missing = sorted(_named_in(route) - set(receivers) - {NULL})
        if missing:
            raise ConfigError(
                f"alerting.route names receivers that are not configured: {', '.join(missing)} "
                "(a top-level section needs its secret set, e.g. CDR_DETECTOR_SLACK_WEBHOOK)"
            )
    else:
        route = fan_out(sorted(set(receivers) - {CONSOLE}))
    resend = {r.name: r.alertmanager.resend for r in settings.alerting.receivers if r.alertmanager}
    if "alertmanager" in receivers and settings.alertmanager.all_urls:
        resend["alertmanager"] = settings.alertmanager.resend
    return Destinations(route, resend)


def _named_in(route: Route) -> set[str]:
    names = {route.leaf.receiver}
    for child in route.routes:
        names |= _named_in(child)
    return names


def pacing_of(settings: Settings, receivers: Mapping[str, Notifier]) -> dict[str, Pacing]:
    """Each receiver's pacing: `delivery` defaults, overridden per named receiver."""
    d = settings.delivery
    default = Pacing(rate_per_s=d.rate_per_s, burst=d.burst, max_pending=d.max_pending)
    out = dict.fromkeys(receivers, default)
    for r in settings.alerting.receivers:
        out[r.name] = Pacing(
            rate_per_s=r.rate_per_s or d.rate_per_s, burst=r.burst or d.burst,
            max_pending=d.max_pending,
        )  # fmt: skip
    return out
