"""Notifiers: one small class per receiver kind, behind the `Notifier` protocol.

A notifier sends one notice JSON (`content.Notice.to_json()`: a group's alerts) and renders
it for its channel from that one content model; it either returns or raises
`RetryableDelivery` (try later, maybe with `retry_after`) or `PermanentDelivery` (the receiver
refuses this message for good); foreign errors (httpx, smtplib, OSError) are translated inside
it. Secrets (webhook URLs, SMTP passwords, signing keys) never appear in its exceptions,
logs or repr. `NOTIFIERS` maps a receiver name to its class for assembly from settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from detector.alerting.notifiers.alertmanager import AlertmanagerNotifier
from detector.alerting.notifiers.apprise import AppriseNotifier
from detector.alerting.notifiers.console import ConsoleNotifier
from detector.alerting.notifiers.email import EmailNotifier
from detector.alerting.notifiers.slack import SlackNotifier
from detector.alerting.notifiers.webhook import WebhookNotifier


@runtime_checkable
class Notifier(Protocol):
    """Delivers one alert notification to one receiver."""

    name: str

    def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one notice JSON, or raise RetryableDelivery / PermanentDelivery."""


NOTIFIERS: Mapping[str, type[Notifier]] = {
    "console": ConsoleNotifier,
    "slack": SlackNotifier,
    "email": EmailNotifier,
    "webhook": WebhookNotifier,
    "alertmanager": AlertmanagerNotifier,
    "apprise": AppriseNotifier,
}

__all__ = [
    "NOTIFIERS",
    "AlertmanagerNotifier",
    "AppriseNotifier",
    "ConsoleNotifier",
    "EmailNotifier",
    "Notifier",
    "SlackNotifier",
    "WebhookNotifier",
]
