"""Email notifier against a real aiosmtpd server: multipart, escaped HTML, error mapping."""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme

from detector.alerting.notifiers import EmailNotifier
from detector.errors import PermanentDelivery, RetryableDelivery
from tests.receivers import SmtpReceiver, smtp_receiver  # noqa: F401 - fixture
from tests.test_render import notice_json

PASSWORD = "hunter2-very-secret"  # noqa: S105 - a test value


def notifier(smtp: SmtpReceiver, **kw: Any) -> EmailNotifier:
    """An email notifier pointed at the local SMTP server."""
    return EmailNotifier(
        smtp.host, smtp.port, sender="fraud@example.com", to=["noc@example.com"], **kw
    )


def test_sends_multipart_with_escaped_html(smtp_receiver: SmtpReceiver) -> None:  # noqa: F811
    """One message arrives with the subject, a text part and an HTML part with escaped values."""
    notifier(smtp_receiver).send(notice_json())
    [msg] = smtp_receiver.messages
    assert msg["Subject"] == "[CRITICAL] MA_1: robocall"
    assert msg["X-Delivery-ID"] == "grp:1"
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
        notifier(smtp_receiver, smtp_factory=RefusingSMTP).send(notice_json())


def test_temporary_refusal_is_retryable(smtp_receiver: SmtpReceiver) -> None:  # noqa: F811
    """A 4xx refusal is retried later."""

    class Busy(RefusingSMTP):
        code = 451

    with pytest.raises(RetryableDelivery):
        notifier(smtp_receiver, smtp_factory=Busy).send(notice_json())


def test_server_down_is_retryable_and_hides_password() -> None:
    """No server listening: retryable, and neither the error nor repr shows the password."""
    with SmtpReceiver() as gone:
        host, port = gone.host, gone.port
    email = EmailNotifier(host, port, sender="a@example.com", to=["b@example.com"],
                          username="fraud", password=PASSWORD)  # fmt: skip
    with pytest.raises(RetryableDelivery) as caught:
        email.send(notice_json())
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(email)


def test_login_refused_is_retryable_and_hides_password(smtp_receiver: SmtpReceiver) -> None:  # noqa: F811
    """A server without AUTH makes login fail: retryable, password not revealed."""
    email = notifier(smtp_receiver, username="fraud", password=PASSWORD)
    with pytest.raises(RetryableDelivery) as caught:
        email.send(notice_json())
    assert PASSWORD not in str(caught.value)
    assert smtp_receiver.messages == []


@pytest.fixture(scope="module")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A throw-away CA (trustme): the server's TLS context for 127.0.0.1 and the CA's file."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server, ca_file


def test_implicit_tls_delivers_and_verifies_the_server(
    tls_ca: tuple[ssl.SSLContext, Path],
) -> None:
    """`tls: implicit` (port 465 style) speaks TLS from the first byte, trusting `ca_file`."""
    server, ca_file = tls_ca
    with SmtpReceiver(ssl_context=server) as smtps:
        notifier(smtps, tls="implicit", ca_file=ca_file).send(notice_json())
        assert len(smtps.messages) == 1
        with pytest.raises(RetryableDelivery, match="SSL"):
            notifier(smtps, tls="implicit").send(notice_json())  # the system CAs do not know it


def test_starttls_upgrades_a_plain_connection(tls_ca: tuple[ssl.SSLContext, Path]) -> None:
    """`tls: starttls` upgrades the connection before sending, as the server requires."""
    server, ca_file = tls_ca
    options = {"tls_context": server, "require_starttls": True}
    with SmtpReceiver(smtp_options=options) as smtp:
        notifier(smtp, tls="starttls", ca_file=ca_file).send(notice_json())
        assert len(smtp.messages) == 1
        with pytest.raises(PermanentDelivery):
            notifier(smtp).send(notice_json())  # plain text is refused by this server
