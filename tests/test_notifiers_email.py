"""Email notifier against a real aiosmtpd server: multipart, escaped HTML, error mapping."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from detector.alerting.notifiers import EmailNotifier
from detector.errors import PermanentDelivery, RetryableDelivery
from tests.receivers import SmtpReceiver, smtp_receiver  # noqa: F401 - fixture
from tests.test_render import alert_json

PASSWORD = "hunter2-very-secret"  # noqa: S105 - a test value


def notifier(smtp: SmtpReceiver, **kw: Any) -> EmailNotifier:
    """An email notifier pointed at the local SMTP server."""
    return EmailNotifier(
        smtp.host, smtp.port, sender="fraud@example.com", to=["noc@example.com"], **kw
    )


def test_sends_multipart_with_escaped_html(smtp_receiver: SmtpReceiver) -> None:  # noqa: F811
    """One message arrives with the subject, a text part and an HTML part with escaped values."""
    notifier(smtp_receiver).send(alert_json())
    [msg] = smtp_receiver.messages
    assert msg["Subject"] == "[CRITICAL] robocall — MA_1"
    assert msg["X-Delivery-ID"] == "abcd:1717416000"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "<!channel>" in text
    assert "robocall" in text
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "&lt;!channel&gt;" in html


class RefusingSMTP(smtplib.SMTP):
    """A real SMTP client whose server pretends to refuse the recipient (code set per test)."""

    code = 550

    def sendmail(self, *args: Any, **kwargs: Any) -> Any:
        """Refuse as a server would, with this class's code."""
        raise smtplib.SMTPRecipientsRefused({"noc@example.com": (self.code, b"no such user")})


def test_permanent_refusal_is_permanent(smtp_receiver: SmtpReceiver) -> None:  # noqa: F811
    """A 5xx refusal of the recipients dead-letters the message."""
    with pytest.raises(PermanentDelivery):
        notifier(smtp_receiver, smtp_factory=RefusingSMTP).send(alert_json())


def test_temporary_refusal_is_retryable(smtp_receiver: SmtpReceiver) -> None:  # noqa: F811
    """A 4xx refusal is retried later."""

    class Busy(RefusingSMTP):
        code = 451

    with pytest.raises(RetryableDelivery):
        notifier(smtp_receiver, smtp_factory=Busy).send(alert_json())


def test_server_down_is_retryable_and_hides_password() -> None:
    """No server listening: retryable, and neither the error nor repr shows the password."""
    with SmtpReceiver() as gone:
        host, port = gone.host, gone.port
    email = EmailNotifier(host, port, sender="a@example.com", to=["b@example.com"],
                          username="fraud", password=PASSWORD)  # fmt: skip
    with pytest.raises(RetryableDelivery) as caught:
        email.send(alert_json())
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(email)


def test_login_refused_is_retryable_and_hides_password(smtp_receiver: SmtpReceiver) -> None:  # noqa: F811
    """A server without AUTH makes login fail: retryable, password not revealed."""
    email = notifier(smtp_receiver, username="fraud", password=PASSWORD)
    with pytest.raises(RetryableDelivery) as caught:
        email.send(alert_json())
    assert PASSWORD not in str(caught.value)
    assert smtp_receiver.messages == []
