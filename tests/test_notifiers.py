"""HTTP notifiers against a real local server: Slack, webhook, Alertmanager; error mapping."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from structlog.testing import capture_logs

from detector.alerting.notifiers import (
    NOTIFIERS,
    AlertmanagerNotifier,
    ConsoleNotifier,
    Notifier,
    SlackNotifier,
    WebhookNotifier,
)
from detector.errors import PermanentDelivery, RetryableDelivery
from tests.receivers import HttpReceiver, http_receiver  # noqa: F401 - fixture
from tests.test_render import alert_json

TOKEN = "T0SECRET/B0SECRET/xoxbSuperSecretToken"  # noqa: S105 - a test value


def test_slack_posts_escaped_blocks(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """Slack gets JSON with blocks and a fallback text in which `<!channel>` is escaped."""
    SlackNotifier(f"{http_receiver.url}/services/{TOKEN}").send(alert_json())
    [request] = http_receiver.requests
    body = request.json()
    assert request.path == f"/services/{TOKEN}"
    assert body["blocks"]
    assert "&lt;!channel&gt;" in body["text"]
    assert "<!channel>" not in request.body.decode()


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "7"}, RetryableDelivery, 7.0),
        (500, {}, RetryableDelivery, None),
        (503, {}, RetryableDelivery, None),
        (400, {}, PermanentDelivery, None),
        (404, {}, PermanentDelivery, None),
    ],
)
def test_slack_maps_statuses(
    http_receiver: HttpReceiver,  # noqa: F811
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    """429 and 5xx are retryable (429 with its Retry-After); other 4xx are permanent."""
    http_receiver.script((status, headers, "invalid_payload"))
    with pytest.raises(error) as caught:
        SlackNotifier(f"{http_receiver.url}/services/{TOKEN}").send(alert_json())
    assert getattr(caught.value, "retry_after", None) == retry_after


def test_secret_never_in_exception_or_repr(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """A webhook token echoed back by the receiver is redacted from the error and the repr."""
    http_receiver.script((400, {}, f"no such hook /services/{TOKEN}"))
    notifier = SlackNotifier(f"{http_receiver.url}/services/{TOKEN}")
    with pytest.raises(PermanentDelivery) as caught:
        notifier.send(alert_json())
    text = str(caught.value) + repr(caught.value) + repr(notifier)
    assert "xoxbSuperSecretToken" not in text
    assert "B0SECRET" not in text
    assert caught.value.__cause__ is None


def test_unreachable_receiver_is_retryable_without_secret() -> None:
    """A refused connection is retryable and its message hides the URL's token."""
    with HttpReceiver() as gone:
        url = f"{gone.url}/hook?token={TOKEN}"
    with pytest.raises(RetryableDelivery) as caught:
        WebhookNotifier(url).send(alert_json())
    assert "xoxbSuperSecretToken" not in str(caught.value)


def test_webhook_posts_alert_json_with_delivery_id_and_signature(
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """The webhook body is the alert JSON, with X-Delivery-ID and a verifiable HMAC signature."""
    notifier = WebhookNotifier(f"{http_receiver.url}/hook", secret="s3cret-signing-key")  # noqa: S106
    notifier.send(alert_json())
    [request] = http_receiver.requests
    assert request.json() == alert_json()
    assert request.headers["X-Delivery-ID"] == "abcd:1717416000"
    expected = hmac.new(b"s3cret-signing-key", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature-256"] == f"sha256={expected}"
    assert "s3cret" not in repr(notifier)


def test_webhook_unsigned_without_secret(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """Without a secret no signature header is sent."""
    WebhookNotifier(f"{http_receiver.url}/hook").send(alert_json())
    assert "X-Signature-256" not in http_receiver.requests[0].headers


def test_alertmanager_posts_v2_alerts(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """Alertmanager gets a list of one alert on /api/v2/alerts with alertname and account."""
    AlertmanagerNotifier(http_receiver.url + "/").send(alert_json())
    [request] = http_receiver.requests
    assert request.path == "/api/v2/alerts"
    [body] = request.json()
    assert body["labels"]["alertname"] == "robocall"
    assert body["labels"]["account"] == "MA_1"


def test_console_logs_one_line() -> None:
    """The console notifier writes one `alert` event with rule, account and severity."""
    with capture_logs() as logs:
        ConsoleNotifier().send(alert_json())
    [event] = logs
    assert (event["event"], event["rule"], event["account"], event["severity"]) == (
        "alert", "robocall", "MA_1", "critical",
    )  # fmt: skip


def test_registry_classes_follow_the_protocol() -> None:
    """Every registered notifier class has a name and a send method (the Protocol)."""
    examples: list[Notifier] = [
        ConsoleNotifier(),
        SlackNotifier("http://127.0.0.1:9/x"),
        WebhookNotifier("http://127.0.0.1:9/x"),
        AlertmanagerNotifier("http://127.0.0.1:9"),
    ]
    assert set(NOTIFIERS) == {"console", "slack", "email", "webhook", "alertmanager"}
    for notifier in examples:
        assert isinstance(notifier, Notifier)
        assert NOTIFIERS[notifier.name] is type(notifier)
