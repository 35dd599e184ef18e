"""Real local receivers for delivery tests: a scriptable HTTP server and an aiosmtpd SMTP server.

Use them as fixtures (``from tests.receivers import http_receiver, smtp_receiver``) or directly
as context managers. Both listen on 127.0.0.1 with an OS-assigned port and record what they
receive; the HTTP server answers from a script of (status, headers, body) replies, repeating
the last one (default: 200 "ok", like a Slack incoming webhook). Clearing its `gate` makes it
hold every reply until the gate is set again: a receiver as slow as the test wants.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

Reply = tuple[int, dict[str, str], str]
OK: Reply = (200, {"Content-Type": "text/plain"}, "ok")


@dataclass
class Received:
    """One HTTP request the receiver saw."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 that records POSTs and replies from a script."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    gate: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, then repeat the last one."""
        self.replies[:] = list(replies)

    def _next(self) -> Reply:
        if len(self.replies) > 1:
            return self.replies.pop(0)
        return self.replies[0] if self.replies else OK

    def __enter__(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append(Received(self.path, dict(self.headers), body))
                receiver.gate.wait(60)
                status, headers, text = receiver._next()
                data = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class _Sink:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Store the message and accept it."""
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records messages.

    `ssl_context` makes it speak TLS from the first byte (SMTPS, port 465 style);
    `smtp_options` go to aiosmtpd's SMTP class (e.g. `tls_context` and `require_starttls`).
    """

    sink: _Sink = field(default_factory=_Sink)
    controller: Controller | None = None
    ssl_context: Any = None
    smtp_options: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """Listening address."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """Listening port."""
        assert self.controller is not None
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """Messages received so far."""
        return self.sink.messages

    def __enter__(self) -> SmtpReceiver:
        self.controller = Controller(
            self.sink, hostname="127.0.0.1", port=_free_port(), ssl_context=self.ssl_context,
            **self.smtp_options,
        )  # fmt: skip
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.controller is not None
        self.controller.stop()


def _free_port() -> int:
    """A port the OS just handed out (aiosmtpd's controller cannot bind port 0 itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A running scriptable HTTP receiver (Slack-compatible by default: 200 "ok")."""
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A running aiosmtpd SMTP server that records messages."""
    with SmtpReceiver() as receiver:
        yield receiver
