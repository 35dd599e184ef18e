"""Alertmanager: POST `/api/v2/alerts` to every configured URL (an HA pair gets everything).

A notice becomes Alertmanager alerts (`render.alertmanager_alerts`): labels are the rule's
labels, `alertname`, `account`, `severity` and the receiver's static labels; a firing alert
ends `ends_after_s` from now and the notification stage re-posts it every `resend` while it
fires; an escalation or a resolution also resolves the lower severities. Authentication is a
bearer token or basic auth (secrets), TLS can use a private CA and a client certificate.

Delivery succeeds when at least one Alertmanager accepted the alerts (as Prometheus does): an
HA peer that missed a post learns the alert from the next re-post and from gossip. It fails
retryably when all failed and at least one failure was retryable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from detector.alerting.content import Notice
from detector.alerting.notifiers.secret import Redactor, SecretLike, reveal
from detector.alerting.notifiers.transport import post_json
from detector.alerting.render import alertmanager_alerts
from detector.errors import DeliveryError, PermanentDelivery, RetryableDelivery


class AlertmanagerNotifier:
    """Pushes each notice's alerts to one or more Alertmanager base URLs."""

    def __init__(
        self,
        urls: Sequence[str] | str,
        *,
        name: str = "alertmanager",
        ends_after_s: float = 3600.0,
        static_labels: Mapping[str, str] | None = None,
        bearer_token: SecretLike | None = None,
        basic_auth: tuple[str, SecretLike] | None = None,
        verify: str | bool = True,
        cert: tuple[str, str] | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        bases = [urls] if isinstance(urls, str) else list(urls)
        self.urls = [u.rstrip("/") + "/api/v2/alerts" for u in bases]
        self.ends_after_s = ends_after_s
        self.static_labels = dict(static_labels or {})
        self.clock = clock
        headers, secrets = {}, []
        auth: httpx.BasicAuth | None = None
        if bearer_token is not None:
            token = reveal(bearer_token)
            headers["Authorization"] = f"Bearer {token}"
            secrets.append(token)
        if basic_auth is not None:
            user, password = basic_auth[0], reveal(basic_auth[1])
            auth = httpx.BasicAuth(user, password)
            secrets.append(password)
        self._redact = Redactor(secrets)
        self._client = httpx.Client(
            timeout=timeout_s, follow_redirects=False, headers=headers, auth=auth,
            verify=verify, cert=cert,
        )  # fmt: skip

    def send(self, payload: Mapping[str, Any]) -> None:
        """Post to every URL; fine when one accepted, else the most hopeful failure."""
        body = alertmanager_alerts(
            Notice.from_json(payload), self.clock(), ends_after_s=self.ends_after_s,
            static_labels=self.static_labels,
        )  # fmt: skip
        failures: list[DeliveryError] = []
        for i, url in enumerate(self.urls):
            peer = f"{self.name}[{i}]" if len(self.urls) > 1 else self.name
            try:
                post_json(self._client, url, body, receiver=peer, redact=self._redact)
            except DeliveryError as exc:
                failures.append(exc)
        if len(failures) < len(self.urls):
            return
        retryable = [f for f in failures if isinstance(f, RetryableDelivery)]
        if retryable:
            raise RetryableDelivery(
                "; ".join(str(f) for f in failures), retry_after=retryable[0].retry_after
            )
        raise PermanentDelivery("; ".join(str(f) for f in failures))

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"AlertmanagerNotifier(name={self.name!r}, urls={self.urls!r})"
