"""The one HTTP edge of the notifiers: POST bytes with httpx and map the outcome to our errors.

2xx → delivered; 429 → retryable with `Retry-After` seconds; 408, 5xx, timeouts and transport
errors → retryable; any other status → permanent. The httpx exception is not chained (its text
and request carry the URL, which may hold a token); messages pass through the `Redactor`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx

from detector.alerting.notifiers.secret import Redactor
from detector.errors import PermanentDelivery, RetryableDelivery


def post(
    client: httpx.Client,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    receiver: str,
    redact: Redactor,
) -> None:
    """POST `content` to `url`; raise RetryableDelivery or PermanentDelivery on failure."""
    try:
        response = client.post(url, content=content, headers=dict(headers))
    except httpx.TimeoutException as exc:
        raise RetryableDelivery(f"{receiver}: timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        detail = redact(str(exc))[:200]
        raise RetryableDelivery(f"{receiver}: {type(exc).__name__}: {detail}") from None
    check(response, receiver, redact)


def post_json(
    client: httpx.Client, url: str, payload: object, *, receiver: str, redact: Redactor
) -> None:
    """POST `payload` as JSON; failures mapped as in `post`."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    post(client, url, content=body, headers=headers, receiver=receiver, redact=redact)


def check(response: httpx.Response, receiver: str, redact: Redactor) -> None:
    """Raise the delivery error a non-2xx response means."""
    code = response.status_code
    if 200 <= code < 300:
        return
    body = redact(response.text[:200]).replace("\n", " ")
    message = f"{receiver}: HTTP {code}: {body}".rstrip(": ")
    if code == 429:
        raise RetryableDelivery(message, retry_after=retry_after(response))
    if code == 408 or code >= 500:
        raise RetryableDelivery(message, retry_after=retry_after(response))
    raise PermanentDelivery(message)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a numeric `Retry-After` header; None when absent or not a number."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def new_client(timeout_s: float) -> httpx.Client:
    """An httpx client for one notifier: bounded timeouts, no redirects."""
    return httpx.Client(timeout=timeout_s, follow_redirects=False)
