"""Generic JSON webhook: the notice JSON, `X-Delivery-ID`, optional HMAC-SHA256 signature.

The body is `Notice.to_json()`: `version`, `delivery_id`, `receiver`, `group_key`,
`group_labels`, `status`, `severity`, `title`, `link` and `alerts` (each with its own
`delivery_id`, `fingerprint`, `status`, `severity`, `rule`, `account`, `summary`, `value`,
`threshold`, `window_s`, `since`, `at`, `labels`, `destinations`, `details`, `call_ids`,
`calls`, `link`). With a signing secret, `X-Signature-256: sha256=<hex>` is the HMAC-SHA256 of
the exact body bytes under that secret (GitHub's convention), so a receiver can verify origin
and integrity; `X-Delivery-ID` lets it drop retries it has already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from detector.alerting.notifiers.secret import Redactor, SecretLike, reveal
from detector.alerting.notifiers.transport import new_client, post

SIGNATURE_HEADER = "X-Signature-256"


def signature(secret: str, body: bytes) -> str:
    """The signature header value for `body`.

    >>> signature("k", b"{}").startswith("sha256="), len(signature("k", b"{}"))
    (True, 71)
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """POSTs the notice JSON to a URL (treated as a secret), signed when a secret is given."""

    def __init__(
        self,
        url: SecretLike,
        *,
        secret: SecretLike | None = None,
        name: str = "webhook",
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._url = reveal(url)
        self._secret = reveal(secret) if secret is not None else None
        self._redact = Redactor([self._url, self._secret or ""])
        self._client = client or new_client(timeout_s)

    def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one notice; 429/5xx/timeouts are retryable, other 4xx permanent."""
        body = json.dumps(dict(payload), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Delivery-ID": str(payload.get("delivery_id", "")),
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        post(
            self._client,
            self._url,
            content=body,
            headers=headers,
            receiver=self.name,
            redact=self._redact,
        )

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        signed = "'***'" if self._secret else "None"
        return f"WebhookNotifier(name={self.name!r}, url='***', secret={signed})"
