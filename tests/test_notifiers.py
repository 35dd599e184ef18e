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
from detector.alerting.notifiers.apprise import AppriseNotifier
from detector.errors import PermanentDelivery, RetryableDelivery
from tests.receivers import HttpReceiver, SmtpReceiver, http_receiver  # noqa: F401 - fixture
from tests.test_render import notice_json

TOKEN = "T0SECRET/B0SECRET/xoxbSuperSecretToken"  # noqa: S105 - a test value


def test_slack_posts_escaped_blocks(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """Slack gets Block Kit JSON with a fallback text; `<!channel>` appears nowhere raw."""
    SlackNotifier(f"{http_receiver.url}/services/{TOKEN}").send(notice_json())
    [request] = http_receiver.requests
    body = request.json()
    assert request.path == f"/services/{TOKEN}"
    assert body["blocks"][0]["type"] == "header"
    assert body["text"] == "[CRITICAL] MA_1: robocall"
    assert "<!channel>" not in request.body.decode()
    assert "&lt;!channel&gt;" in request.body.decode()


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
        SlackNotifier(f"{http_receiver.url}/services/{TOKEN}").send(notice_json())
    assert getattr(caught.value, "retry_after", None) == retry_after


def test_secret_never_in_exception_or_repr(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """A webhook token echoed back by the receiver is redacted from the error and the repr."""
    http_receiver.script((400, {}, f"no such hook /services/{TOKEN}"))
    notifier = SlackNotifier(f"{http_receiver.url}/services/{TOKEN}")
    with pytest.raises(PermanentDelivery) as caught:
        notifier.send(notice_json())
    text = str(caught.value) + repr(caught.value) + repr(notifier)
    assert "xoxbSuperSecretToken" not in text
    assert "B0SECRET" not in text
    assert caught.value.__cause__ is None


def test_unreachable_receiver_is_retryable_without_secret() -> None:
    """A refused connection is retryable and its message hides the URL's token."""
    with HttpReceiver() as gone:
        url = f"{gone.url}/hook?token={TOKEN}"
    with pytest.raises(RetryableDelivery) as caught:
        WebhookNotifier(url).send(notice_json())
    assert "xoxbSuperSecretToken" not in str(caught.value)


def test_webhook_posts_the_notice_with_delivery_id_and_signature(
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """The webhook body is the notice JSON, with X-Delivery-ID and a verifiable HMAC signature."""
    notifier = WebhookNotifier(f"{http_receiver.url}/hook", secret="s3cret-signing-key")  # noqa: S106
    notifier.send(notice_json())
    [request] = http_receiver.requests
    assert request.json() == notice_json()
    assert request.json()["alerts"][0]["delivery_id"] == "abcd:1717416000"
    assert request.headers["X-Delivery-ID"] == "grp:1"
    expected = hmac.new(b"s3cret-signing-key", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature-256"] == f"sha256={expected}"
    assert "s3cret" not in repr(notifier)


def test_webhook_unsigned_without_secret(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """Without a secret no signature header is sent."""
    WebhookNotifier(f"{http_receiver.url}/hook").send(notice_json())
    assert "X-Signature-256" not in http_receiver.requests[0].headers


def test_alertmanager_posts_v2_alerts_with_auth(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """Alertmanager gets the alerts on /api/v2/alerts, with the bearer token, never in repr."""
    notifier = AlertmanagerNotifier(http_receiver.url + "/", bearer_token="am-t0ken")  # noqa: S106
    notifier.send(notice_json())
    [request] = http_receiver.requests
    assert request.path == "/api/v2/alerts"
    assert request.headers["Authorization"] == "Bearer am-t0ken"
    firing = [a for a in request.json() if a["labels"]["severity"] == "critical"]
    assert firing[0]["labels"]["alertname"] == "robocall"
    assert "am-t0ken" not in repr(notifier)


def test_alertmanager_basic_auth(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """Basic auth credentials are sent as an Authorization: Basic header."""
    AlertmanagerNotifier(http_receiver.url, basic_auth=("am", "pw")).send(notice_json())
    assert http_receiver.requests[0].headers["Authorization"].startswith("Basic ")


def test_alertmanager_ha_pair_one_down_still_delivers(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """With one of two Alertmanagers refusing, delivery succeeds; with both, it is retried."""
    with HttpReceiver() as down:
        down.script((503, {}, "down"))
        AlertmanagerNotifier([down.url, http_receiver.url]).send(notice_json())
        assert len(http_receiver.requests) == len(down.requests) == 1
        with pytest.raises(RetryableDelivery) as caught:
            AlertmanagerNotifier([down.url, down.url]).send(notice_json())
    assert "alertmanager[0]" in str(caught.value)


def test_apprise_json_url_posts_the_notice(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """An apprise `json://` URL gets the title and a text body with the facts."""
    host = http_receiver.url.removeprefix("http://")
    AppriseNotifier([f"json://{host}/apprise"], name="pager").send(notice_json())
    [request] = http_receiver.requests
    body = request.json()
    assert body["title"] == "[CRITICAL] MA_1: robocall"
    assert "120 (threshold 100)" in body["message"]
    assert "+919812345321" not in body["message"]


def test_apprise_mailto_url_reaches_an_smtp_server() -> None:
    """An apprise `mailto://` URL delivers through a real SMTP server."""
    with SmtpReceiver() as smtp:
        url = (f"mailto://{smtp.host}:{smtp.port}?from=fraud@example.com&to=noc@example.com"
               "&secure=no")  # fmt: skip
        AppriseNotifier([url]).send(notice_json())
        [message] = smtp.messages
    assert "robocall" in str(message["Subject"])


def test_apprise_failure_is_retryable(http_receiver: HttpReceiver) -> None:  # noqa: F811
    """An apprise service that answers 500 makes the delivery retryable."""
    http_receiver.script((500, {}, "no"))
    host = http_receiver.url.removeprefix("http://")
    with pytest.raises(RetryableDelivery):
        AppriseNotifier([f"json://{host}/x"]).send(notice_json())


def test_apprise_refuses_an_unknown_url_at_start() -> None:
    """A URL apprise cannot parse is refused when the receiver is built, naming its position."""
    with pytest.raises(ValueError, match="URL number"):
        AppriseNotifier(["nosuchservice://x"])


def test_console_logs_one_line() -> None:
    """The console notifier writes one `alert` event with rule, account and severity."""
    with capture_logs() as logs:
        ConsoleNotifier().send(notice_json())
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
        AppriseNotifier(["json://127.0.0.1:9/x"]),
    ]
    assert set(NOTIFIERS) == {"console", "slack", "email", "webhook", "alertmanager", "apprise"}
    for notifier in examples:
        assert isinstance(notifier, Notifier)
        assert NOTIFIERS[notifier.name] is type(notifier)
