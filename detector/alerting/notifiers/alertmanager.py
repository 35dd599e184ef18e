"""Alertmanager: POST `/api/v2/alerts` so its routing, grouping and silences apply too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from detector.alerting.notifiers.secret import Redactor
from detector.alerting.notifiers.transport import new_client, post_json
from detector.alerting.render import alertmanager_payload


class AlertmanagerNotifier:
    """Pushes each alert to an Alertmanager base URL (e.g. ``http://127.0.0.1:9093``)."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "alertmanager",
        generator_url: str | None = None,
        hold_s: float = 86400.0,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.generator_url = generator_url
        self.hold_s = hold_s
        self._redact = Redactor([])
        self._client = client or new_client(timeout_s)

    def send(self, alert_json: Mapping[str, Any]) -> None:
        """Deliver one alert; 429/5xx/timeouts are retryable, other 4xx permanent."""
        payload = alertmanager_payload(
            alert_json, hold_s=self.hold_s, generator_url=self.generator_url
        )
        post_json(self._client, self.url, payload, receiver=self.name, redact=self._redact)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"AlertmanagerNotifier(name={self.name!r}, url={self.url!r})"
