"""The partner API client: shapes, auth errors, retries with the server's hints, rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from detector.errors import AuthError, PermanentSourceError, RetryableSourceError, SourceError
from detector.source.client import CdrApi
from detector.source.ratelimit import TokenBucket
from tests.feed import AUTH_ID, TOKEN, Call, FakeFeed, Fault, http_date

NOW = datetime(2026, 3, 25, 10, 0, tzinfo=UTC)


def feed_with_calls(shape: str = "a") -> FakeFeed:
    """A feed holding three visible calls."""
    feed = FakeFeed(now=NOW, shape=shape)
    feed.calls = [Call(f"c{i}", NOW - timedelta(minutes=10 + i)) for i in range(3)]
    return feed


@pytest.mark.parametrize("shape", ["a", "b"])
def test_list_cdrs_reads_both_shapes(shape: str) -> None:
    """Both response shapes become a Page with rows, totals and the shape recorded."""
    feed = feed_with_calls(shape)
    page = feed.api().list_cdrs({"page": 1, "per_page": 2})
    assert page.shape == shape
    assert [r["call_uuid" if shape == "a" else "uuid"] for r in page.rows] == ["c0", "c1"]  # type: ignore[index]
    assert (page.total, page.page, page.per_page, page.more) == (3, 1, 2, True)
    assert page.has_next is (True if shape == "b" else None)


def test_requests_carry_auth_headers_and_account_path() -> None:
    """Requests send X-Auth-ID, X-Auth-Token and Accept, and use the account path when asked."""
    feed = feed_with_calls()
    feed.api().list_cdrs({"page": 1}, account="MA_FEED0001")
    sent = feed.requests[0]
    assert sent.headers["X-Auth-ID"] == AUTH_ID
    assert sent.headers["X-Auth-Token"] == TOKEN
    assert sent.headers["Accept"] == "application/json"
    assert sent.url.path == "/api/v1/partner/accounts/MA_FEED0001/cdrs"


def test_list_accounts_returns_the_accounts() -> None:
    """list_accounts returns the `accounts` array of /accounts."""
    assert feed_with_calls().api().list_accounts(1, 50) == [{"auth_id": "MA_FEED0001"}]


def test_401_names_the_environment_variables_and_request_id() -> None:
    """A 401 stops at once with a message naming both credential variables and the requestId."""
    feed = feed_with_calls()
    feed.faults.append(Fault("401", body={"error": {"code": "UNAUTHORIZED"}, "requestId": "r-77"}))
    api = feed.api()
    with pytest.raises(AuthError) as info:
        api.list_cdrs({"page": 1})
    message = str(info.value)
    assert info.value.status == 401
    assert "CDR_DETECTOR_AUTH_ID" in message
    assert "CDR_DETECTOR_AUTH_TOKEN" in message
    assert "requestId=r-77" in message
    assert api.stats.requests == {"401": 1}
    assert api.stats.retries == 0


def test_403_points_at_the_can_view_cdrs_permission() -> None:
    """A 403 says to check the partner's can_view_cdrs permission and carries the api_id."""
    feed = feed_with_calls()
    feed.faults.append(Fault("403", body={"api_id": "api-9", "error": "forbidden"}))
    with pytest.raises(AuthError) as info:
        feed.api().list_cdrs({"page": 1})
    assert info.value.status == 403
    assert "can_view_cdrs" in str(info.value)
    assert "requestId=api-9" in str(info.value)


def retry_after_cases() -> list[tuple[Fault, float]]:
    """Each form of the server's retry hint with the wait it must produce."""
    later = http_date(NOW + timedelta(seconds=42))
    limited = {"error": {"code": "RATE_LIMIT_EXCEEDED", "details": {"retryAfter": 12}}}
    return [
        (Fault("429", headers={"Retry-After": "7"}), 7.0),
        (Fault("429", headers={"Retry-After": later}), 42.0),
        (Fault("429", headers={"retry-after-ms": "1500"}), 1.5),
        (Fault("429", body=limited), 12.0),
    ]


@pytest.mark.parametrize(("fault", "wait"), retry_after_cases())
def test_429_honours_each_retry_after_form(fault: Fault, wait: float) -> None:
    """A 429 waits what the server asked (seconds, HTTP date, ms, body) and then succeeds."""
    feed = feed_with_calls()
    feed.faults.append(fault)
    api = feed.api()
    page = api.list_cdrs({"page": 1})
    assert len(page.rows) == 3
    assert feed.sleeps == [pytest.approx(wait, abs=1.0)]
    assert api.stats.requests == {"429": 1, "200": 1}
    assert api.stats.retries == 1


def test_5xx_backs_off_exponentially_then_gives_up() -> None:
    """Repeated 500s are retried with full-jitter waits under 1, 2, 4 s, then raised."""
    feed = feed_with_calls()
    feed.faults.extend(Fault("500") for _ in range(4))
    api = feed.api(max_retries=3)
    with pytest.raises(RetryableSourceError) as info:
        api.list_cdrs({"page": 1})
    assert info.value.reason == "server_error"
    assert api.stats.requests == {"500": 4}
    assert len(feed.sleeps) == 3
    assert all(0 <= w <= 2**i for i, w in enumerate(feed.sleeps))


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_malformed_200_is_counted_and_retried(kind: str) -> None:
    """A 200 without a JSON object holding a data list is counted as malformed and retried."""
    feed = feed_with_calls()
    feed.faults.append(Fault(kind))
    api = feed.api()
    assert len(api.list_cdrs({"page": 1}).rows) == 3
    assert api.stats.requests == {"malformed": 1, "200": 1}


def test_persistent_malformed_body_raises_retryable_malformed() -> None:
    """When every answer is malformed the client gives up with reason 'malformed'."""
    feed = feed_with_calls()
    feed.faults.extend(Fault("malformed") for _ in range(3))
    with pytest.raises(RetryableSourceError) as info:
        feed.api(max_retries=2).list_cdrs({"page": 1})
    assert info.value.reason == "malformed"
    assert "malformed" in str(info.value)


def test_timeouts_are_translated_and_counted() -> None:
    """httpx timeouts never escape: they are counted and end as RetryableSourceError('timeout')."""
    feed = feed_with_calls()
    feed.faults.extend(Fault("timeout") for _ in range(3))
    api = feed.api(max_retries=2)
    with pytest.raises(RetryableSourceError) as info:
        api.list_cdrs({"page": 1})
    assert info.value.reason == "timeout"
    assert api.stats.requests == {"timeout": 3}


def test_huge_retry_after_is_returned_to_the_caller_instead_of_slept() -> None:
    """A Retry-After beyond max_retry_after_s raises at once, carrying the wait for the caller."""
    feed = feed_with_calls()
    feed.faults.append(Fault("429", headers={"Retry-After": "3600"}))
    with pytest.raises(RetryableSourceError) as info:
        feed.api(max_retry_after_s=60).list_cdrs({"page": 1})
    assert info.value.retry_after == 3600.0
    assert feed.sleeps == []


def test_other_4xx_is_permanent() -> None:
    """A 404 is a PermanentSourceError with the status, not retried."""
    feed = feed_with_calls()
    feed.faults.append(Fault("404"))
    api = feed.api()
    with pytest.raises(PermanentSourceError) as info:
        api.list_cdrs({"page": 1})
    assert info.value.status == 404
    assert api.stats.retries == 0


@pytest.mark.parametrize("kind", ["401", "403", "404", "500", "429", "malformed", "timeout"])
def test_token_never_appears_in_error_messages(kind: str) -> None:
    """Even when the API echoes the token back, no error message or repr contains it."""
    feed = feed_with_calls()
    echo = {"error": {"code": "X", "message": f"bad token {TOKEN}"}, "requestId": TOKEN}
    feed.faults.extend(Fault(kind, body=echo) for _ in range(3))
    api = feed.api(max_retries=2, max_retry_after_s=0.0)
    with pytest.raises(SourceError) as info:
        api.list_cdrs({"page": 1})
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
    assert TOKEN not in repr(api)


def test_on_request_callback_sees_every_attempt() -> None:
    """The on_request callback receives endpoint, outcome and a duration per HTTP attempt."""
    feed = feed_with_calls()
    feed.faults.append(Fault("503"))
    attempts: list[tuple[str, str, float]] = []
    api = feed.api(on_request=lambda *attempt: attempts.append(attempt))
    api.list_cdrs({"page": 1})
    api.list_cdrs({"page": 1}, account="MA_1")
    assert [(endpoint, outcome) for endpoint, outcome, _ in attempts] == [
        ("cdrs", "503"), ("cdrs", "200"), ("account_cdrs", "200"),
    ]  # fmt: skip
    assert all(seconds >= 0 for _, _, seconds in attempts)


def test_token_bucket_spaces_requests_at_the_configured_rate() -> None:
    """With a frozen clock, a 2/s bucket of burst 1 asks to sleep 0.5 s per extra request."""
    waits: list[float] = []
    bucket = TokenBucket(2.0, clock=lambda: 100.0, sleep=waits.append, burst=1)
    for _ in range(3):
        bucket.acquire()
    assert waits == [0.5, 1.0]


def test_client_rate_limit_is_applied_to_requests() -> None:
    """Requests beyond the burst make the client wait through its injected sleep."""
    feed = feed_with_calls()
    api = feed.api(rate_per_s=1.0)
    for _ in range(3):
        api.list_cdrs({"page": 1})
    assert len(feed.sleeps) == 2
    assert api.stats.waited_s > 0


def test_transport_errors_are_translated() -> None:
    """A connection error becomes RetryableSourceError('transport')."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api = CdrApi(
        "https://x.test",
        "id",
        TOKEN,
        transport=httpx.MockTransport(refuse),
        max_retries=1,
        sleep=lambda _s: None,
    )
    with pytest.raises(RetryableSourceError) as info:
        api.list_cdrs({"page": 1})
    assert info.value.reason == "transport"
