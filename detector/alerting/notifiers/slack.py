"""Slack incoming webhook: Block Kit blocks (slack_sdk models) and a `text` fallback, escaped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from detector.alerting.content import Notice
from detector.alerting.notifiers.secret import Redactor, SecretLike, reveal
from detector.alerting.notifiers.transport import new_client, post_json
from detector.alerting.render import slack_payload


class SlackNotifier:
    """POSTs `render.slack_payload` to a webhook URL (a secret: it carries the token).

    Slack answers 200 `ok`, 429 with `Retry-After` when a webhook sends more than about one
    message a second (retried after it), and 4xx for a revoked hook or a bad payload (dead
    letter).
    """

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

    def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one notice; 429/5xx/timeouts are retryable, other 4xx permanent."""
        body = slack_payload(Notice.from_json(payload))
        post_json(self._client, self._url, body, receiver=self.name, redact=self._redact)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"SlackNotifier(name={self.name!r}, webhook_url='***')"
