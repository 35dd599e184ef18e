"""The partner CDR API client: auth, both response shapes, retries, a rate limit, error translation.

Every httpx exception is translated here into the tree in `detector.errors`, so nothing above
this module sees httpx. Outcomes of each HTTP attempt are counted in `CdrApi.stats` and
passed, with the endpoint (`endpoint_of`) and the attempt's wall time, to an optional
`on_request(endpoint, outcome, seconds)` callback for the service to record as metrics.

Failure policy:
- 429, 5xx, timeouts, transport errors and malformed 200 bodies are retried with full-jitter
  exponential backoff (or the server's hint: `Retry-After`, `retry-after-ms`,
  `error.details.retryAfter`) up to `max_retries` times, then `RetryableSourceError`.
- 401/403 raise `AuthError` at once with a message saying what to check.
- Other 4xx raise `PermanentSourceError`.
- A body larger than `max_response_bytes` is not read past the cap: `OversizedResponse`
  (counted as "oversized"), and the poller reads that page again in smaller pages.
The auth token is held only in the HTTP client's headers and is scrubbed from any text the
API sends back before that text goes into a message.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx

from detector.config import API_PATH
from detector.errors import (
    AuthError,
    NotFoundError,
    OversizedResponse,
    PermanentSourceError,
    RetryableSourceError,
)
from detector.secret import AUTH_ID_ENV, AUTH_TOKEN_ENV
from detector.source.backoff import full_jitter, retry_after_s
from detector.source.ratelimit import TokenBucket

Shape = Literal["a", "b"]
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""A page of 100 shape-B rows is ~150 KB: 8 MiB is 50x that, and bounds memory per request."""
HEAD_BYTES = 4096
"""Bytes of an oversized body kept to identify it."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a CDR list as received.

    `rows` are the decoded rows (normally dicts; anything else is passed through so the
    poller can count it as rejected). `total` and `has_next` are None when the shape omits them.
    """

    rows: list[object]
    page: int
    per_page: int
    total: int | None
    has_next: bool | None
    shape: Shape

    @property
    def more(self) -> bool:
        """True when a further page may exist (the API's flag, else total, else a full page)."""
        if self.has_next is not None:
            return self.has_next
        if self.total is not None:
            return self.page * self.per_page < self.total
        return len(self.rows) >= self.per_page


@dataclass(slots=True)
class ClientStats:
    """What the client did: attempts by outcome ("200", "429", "500", "timeout", "transport",
    "malformed", ...), retries, and seconds spent waiting on backoff and the rate limit."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    waited_s: float = 0.0

    @property
    def total(self) -> int:
        """All HTTP attempts so far."""
        return sum(self.requests.values())


class _Retry(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.retry_after = reason, detail, retry_after


class CdrApi:
    """Synchronous client for the partner API: `/cdrs`, `/accounts/{id}/cdrs` (and one call
    by id), `/accounts`."""

    def __init__(
        self,
        base_url: str,
        auth_id: str,
        auth_token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_retries: int = 5,
        rate_per_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        backoff_cap_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        on_request: Callable[[str, str, float], None] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._token = auth_token
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={
                "X-Auth-ID": auth_id,
                "X-Auth-Token": auth_token,
                "Accept": "application/json",
            },
            transport=transport,
            timeout=timeout,
        )
        self.max_retries, self.backoff_cap_s = max_retries, backoff_cap_s
        self.max_retry_after_s = max_retry_after_s
        self.max_response_bytes = max_response_bytes
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self._bucket = TokenBucket(rate_per_s, clock=clock, sleep=sleep)
        self._on_request = on_request
        self._lock = threading.Lock()  # the bucket and the stats are shared by catch-up threads
        self.stats = ClientStats()

    def __repr__(self) -> str:
        return f"CdrApi({str(self._http.base_url)!r})"

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def list_cdrs(self, params: Mapping[str, str | int], *, account: str | None = None) -> Page:
        """One page of CDRs: the global feed, or one customer's when `account` is given."""
        path = "cdrs" if account is None else f"accounts/{quote(account, safe='')}/cdrs"
        body = self._get(path, params)
        return _page(body, params)

    def get_cdr(self, account: str, call_id: str) -> dict[str, Any]:
        """The full record of one call (`/accounts/{id}/cdrs/{uuid}`), either shape's body.

        Shape A answers the row itself, shape B wraps it as `{"success", "data": {...}}`.
        """
        path = f"accounts/{quote(account, safe='')}/cdrs/{quote(call_id, safe='')}"
        body = self._get(path, {}, key=None)
        data = body.get("data")
        return data if isinstance(data, dict) else body

    def list_accounts(self, page: int = 1, per_page: int = 100) -> list[dict[str, Any]]:
        """One page of the partner's customer accounts (each has `auth_id`, `timezone`, ...)."""
        body = self._get("accounts", {"page": page, "per_page": per_page}, key="accounts")
        rows = body.get("accounts", body.get("data"))
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    def _get(
        self, path: str, params: Mapping[str, str | int], key: str | None = "data"
    ) -> dict[str, Any]:
        """GET with retries; returns the decoded JSON object (with a `key` list unless None)."""
        attempt = 0
        while True:
            try:
                return self._attempt(path, params, key)
            except _Retry as retry:
                too_long = (retry.retry_after or 0.0) > self.max_retry_after_s
                if attempt >= self.max_retries or too_long:
                    raise RetryableSourceError(
                        f"{path}: {retry.detail} (gave up after {attempt + 1} attempts)",
                        reason=retry.reason,
                        retry_after=retry.retry_after,
                    ) from None
                wait = retry.retry_after
                if wait is None:
                    wait = full_jitter(attempt, self._rng, cap=self.backoff_cap_s)
                self.stats.retries += 1
                self.stats.waited_s += wait
                self._sleep(wait)
                attempt += 1

    def _attempt(
        self, path: str, params: Mapping[str, str | int], key: str | None
    ) -> dict[str, Any]:
        """One HTTP attempt: a decoded body, or `_Retry`/`AuthError`/`PermanentSourceError`."""
        with self._lock:
            self.stats.waited_s += self._bucket.acquire()
        began = time.perf_counter()

        def count(outcome: str) -> None:
            self._count(endpoint_of(path), outcome, time.perf_counter() - began)

        try:
            response, content = self._read(path, params)
        except OversizedResponse:
            count("oversized")
            raise
        except httpx.TimeoutException as exc:
            count("timeout")
            raise _Retry("timeout", f"timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            count("transport")
            raise _Retry("transport", f"transport error ({type(exc).__name__})") from None
        except httpx.InvalidURL as exc:
            raise PermanentSourceError(f"invalid API URL: {exc}", status=0) from None
        body = _decode(content)
        if response.status_code == 200:
            if not isinstance(body, dict) or (key and not isinstance(body.get(key), list)):
                count("malformed")
                what = f"no '{key}' list" if key else "not a JSON object"
                raise _Retry("malformed", f"HTTP 200 with a malformed body ({what})")
            count("200")
            return body
        count(str(response.status_code))
        raise self._failure(response, body)

    def _read(self, path: str, params: Mapping[str, str | int]) -> tuple[httpx.Response, bytes]:
        """GET `path` and read its body, never more than `max_response_bytes` of it."""
        query = {k: str(v) for k, v in params.items()}
        cap = self.max_response_bytes
        with self._http.stream("GET", path, params=query) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > cap:
                    head = b"".join(chunks)[:HEAD_BYTES]
                    raise OversizedResponse(
                        f"{path}: the response is larger than api.max_response_bytes ({cap:,})",
                        head=head,
                    )
            return response, b"".join(chunks)

    def _failure(self, response: httpx.Response, body: Any) -> Exception:
        """The error for a non-200 answer (raised by the caller)."""
        status = response.status_code
        ref = self._scrub(_reference(body))
        if status == 401:
            return AuthError(
                "the partner API rejected our credentials (HTTP 401): check "
                f"{AUTH_ID_ENV} and {AUTH_TOKEN_ENV} (partner id PA_... and its API token){ref}",
                status=401,
            )
        if status == 403:
            return AuthError(
                "the partner API refused access to CDRs (HTTP 403): check that "
                f"{AUTH_ID_ENV}/{AUTH_TOKEN_ENV} are the partner's credentials and that the "
                f"partner has the can_view_cdrs permission (GET /me){ref}",
                status=403,
            )
        if status == 429 or status >= 500:
            hint = retry_after_s(response.headers, body, self._clock())
            reason = "rate_limited" if status == 429 else "server_error"
            return _Retry(reason, f"HTTP {status}{ref}", hint)
        if status == 404 and not str(self._http.base_url).rstrip("/").endswith(API_PATH):
            return NotFoundError(
                f"the partner API answered HTTP 404 for {str(response.url).split('?')[0]}"
                f"{ref}: the API base URL must end with {API_PATH} (e.g. "
                f"https://api.vobiz.ai{API_PATH}); add it to api.url or --api-url"
            )
        if status == 404:
            return NotFoundError(f"the partner API answered HTTP 404 for {response.url.path}{ref}")
        return PermanentSourceError(f"the partner API answered HTTP {status}{ref}", status=status)

    def _count(self, endpoint: str, outcome: str, seconds: float) -> None:
        with self._lock:
            self.stats.requests[outcome] += 1
        if self._on_request is not None:
            self._on_request(endpoint, outcome, seconds)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def endpoint_of(path: str) -> str:
    """The metric label of an API path: its route, never an account id or a call uuid.

    >>> [endpoint_of(p) for p in ("cdrs", "accounts/MA_1/cdrs", "accounts/MA_1/cdrs/u-1", "me")]
    ['cdrs', 'account_cdrs', 'call', 'me']
    """
    parts = path.strip("/").split("/")
    if parts[0] == "accounts" and len(parts) > 2:
        return "account_cdrs" if len(parts) == 3 else "call"
    return parts[0]


def _decode(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def _reference(body: Any) -> str:
    """`; API says: <code> <message> (requestId=...)` from either error body, or ''."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    parts: list[str] = []
    if isinstance(error, dict):
        parts += [str(error.get("code", "")), str(error.get("message", ""))]
    elif isinstance(error, str):
        parts.append(error)
    if isinstance(body.get("message"), str):
        parts.append(body["message"])
    ref = body.get("requestId") or body.get("api_id")
    text = " ".join(p for p in parts if p)[:200]
    tail = f" (requestId={str(ref)[:80]})" if ref else ""
    return f"; API says: {text}{tail}" if text or tail else ""


def _page(body: dict[str, Any], params: Mapping[str, str | int]) -> Page:
    """Fold shape A (`{data, meta}`) and shape B (`{success, data, pagination}`) into a Page."""
    shape: Shape = "b" if "pagination" in body or "success" in body else "a"
    meta = body.get("pagination" if shape == "b" else "meta")
    meta = meta if isinstance(meta, dict) else {}
    has_next = meta.get("has_next")
    return Page(
        rows=list(body["data"]),
        page=_int(meta.get("page")) or int(params.get("page", 1)),
        per_page=_int(meta.get("per_page")) or int(params.get("per_page", 20)),
        total=_int(meta.get("total")),
        has_next=has_next if isinstance(has_next, bool) else None,
        shape=shape,
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
