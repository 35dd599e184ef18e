"""Slack incoming webhook: Block Kit blocks plus a `text` fallback, untrusted text escaped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from detector.alerting.notifiers.secret import Redactor, SecretLike, reveal
from detector.alerting.notifiers.transport import new_client, post_json
from detector.alerting.render import slack_payload


class SlackNotifier:
    """POSTs `render.slack_payload` to a webhook URL (a secret: it carries the token)."""

    def __init__(
        self,
        webhook_url: SecretLike,
        *,
        name: str = "slack",
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._url = reveal(webhook_url)
        self._redact = Redactor([self._url])
        self._client = client or new_client(timeout_s)

    def send(self, alert_json: Mapping[str, Any]) -> None:
        """Deliver one alert; 429/5xx/timeouts are retryable, other 4xx permanent."""
        payload = slack_payload(alert_json)
        post_json(self._client, self._url, payload, receiver=self.name, redact=self._redact)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"SlackNotifier(name={self.name!r}, webhook_url='***')"
