"""Email over SMTP (smtplib): multipart text + HTML, subject ``[CRITICAL] MA_1: rule``.

TLS: `none`, `starttls` (a plain connection upgraded, usually port 587) or `implicit` (TLS from
the first byte, usually port 465), verified against the system's CAs or `ca_file`.
SMTP replies map to our errors: 5xx refusals of this message (sender, recipients, data) are
permanent; 4xx replies, authentication failures (fix the credentials and the queue flows),
disconnects, timeouts and socket errors are retryable, so an outage or a bad password delays
alerts instead of dropping them. The password never appears in messages or reprs.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from detector.alerting.content import Notice
from detector.alerting.mail import chart_cid, email_html, email_subject, email_text, has_chart
from detector.alerting.notifiers.secret import Redactor, SecretLike, reveal
from detector.alerting.render import MAX_ALERTS, one_line
from detector.errors import PermanentDelivery, RetryableDelivery

SmtpFactory = Callable[..., smtplib.SMTP]
TLS_MODES = ("none", "starttls", "implicit")


def build_message(notice: Notice, sender: str, to: Sequence[str]) -> EmailMessage:
    """The multipart/alternative message for one notice: the text part, and the HTML part
    with each alert's chart inline (multipart/related, drawn here on the courier's thread;
    an alert whose chart cannot be drawn simply has none)."""
    msg = EmailMessage()
    msg["Subject"] = email_subject(notice)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["X-Delivery-ID"] = one_line(notice.delivery_id)
    msg.set_content(email_text(notice))
    charts = _charts(notice)
    msg.add_alternative(email_html(notice, frozenset(charts)), subtype="html")
    html_part = msg.get_body(("html",))
    if html_part is None:
        return msg
    for cid, png in charts.items():
        html_part.add_related(png, "image", "png", cid=f"<{cid}>",
                              filename=f"{cid.split('@')[0]}.png")  # fmt: skip
    return msg


def _charts(notice: Notice) -> dict[str, bytes]:
    """Content-ID → PNG of every shown alert with a chart."""
    found: dict[str, bytes] = {}
    for alert in notice.alerts[:MAX_ALERTS]:
        if not has_chart(alert):
            continue
        from detector.alerting.chart import chart_png  # noqa: PLC0415 - matplotlib on demand

        try:
            png = chart_png(alert)
        except Exception:  # a picture is an extra: the email goes without it
            png = None
        if png:
            found[chart_cid(alert)] = png
    return found


class EmailNotifier:
    """Sends each alert as one email to a fixed list of recipients."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        to: Sequence[str],
        tls: str = "none",
        ca_file: Path | None = None,
        starttls: bool = False,
        username: str | None = None,
        password: SecretLike | None = None,
        name: str = "email",
        timeout_s: float = 15.0,
        smtp_factory: SmtpFactory | None = None,
    ) -> None:
        self.name = name
        self.host, self.port, self.sender, self.to = host, port, sender, list(to)
        self.tls = "starttls" if starttls and tls == "none" else tls
        if self.tls not in TLS_MODES:
            raise ValueError(f"tls must be one of {TLS_MODES}, not {tls!r}")
        self._ca_file = ca_file
        self.username = username
        self._password = reveal(password) if password is not None else None
        self._redact = Redactor([self._password or ""])
        self._timeout_s = timeout_s
        self._factory = smtp_factory

    def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one notice or raise RetryableDelivery / PermanentDelivery."""
        msg = build_message(Notice.from_json(payload), self.sender, self.to)
        try:
            self._deliver(msg)
        except smtplib.SMTPResponseException as exc:
            raise self._translate(exc.smtp_code, type(exc).__name__, exc.smtp_error) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            code = min(codes) if codes else 550
            raise self._translate(
                code, "SMTPRecipientsRefused", b"all recipients refused"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            detail = self._redact(str(exc))[:200]
            raise RetryableDelivery(f"{self.name}: {type(exc).__name__}: {detail}") from None

    def _connect(self) -> smtplib.SMTP:
        if self._factory is not None:
            return self._factory(self.host, self.port, timeout=self._timeout_s)
        if self.tls == "implicit":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self._timeout_s, context=self._context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self._timeout_s)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self._ca_file) if self._ca_file else None)

    def _deliver(self, msg: EmailMessage) -> None:
        with self._connect() as smtp:
            if self.tls == "starttls":
                smtp.starttls(context=self._context())
            if self.username and self._password is not None:
                smtp.login(self.username, self._password)
            smtp.send_message(msg)

    def _translate(self, code: int, kind: str, text: bytes | str) -> Exception:
        raw = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        message = f"{self.name}: {kind} {code}: {self._redact(raw)[:200]}"
        auth_failure = kind == "SMTPAuthenticationError"
        if 500 <= code < 600 and not auth_failure:
            return PermanentDelivery(message)
        return RetryableDelivery(message)

    def __repr__(self) -> str:
        hidden = "'***'" if self._password else "None"
        return (
            f"EmailNotifier(name={self.name!r}, host={self.host!r}, port={self.port}, "
            f"tls={self.tls!r}, "
            f"username={self.username!r}, password={hidden})"
        )
