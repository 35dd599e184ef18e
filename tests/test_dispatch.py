"""Dispatcher end to end: outbox on a real SQLite file, real local HTTP receivers, fixed clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from detector.alerting import outbox
from detector.alerting.dispatch import Dispatcher, backoff
from detector.alerting.notifiers import Notifier, SlackNotifier, WebhookNotifier
from detector.domain import Alert
from tests.receivers import HttpReceiver, http_receiver  # noqa: F401 - fixture
from tests.test_outbox import episode


class Clock:
    """A settable clock (seconds)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """The outbox in a real SQLite file, in autocommit mode like the state store."""
    c = sqlite3.connect(tmp_path / "state.sqlite", isolation_level=None)
    outbox.create_schema(c)
    yield c
    c.close()


def dispatcher(conn: sqlite3.Connection, clock: Clock, **notifiers: Notifier) -> Dispatcher:
    """A dispatcher over `conn` with the given receivers."""
    return Dispatcher(lambda: conn, notifiers, clock)


def queue(conn: sqlite3.Connection, alerts: list[Alert], receivers: list[str], now: float) -> None:
    """Enqueue inside a transaction, as the store's cycle does."""
    conn.execute("BEGIN")
    outbox.enqueue(conn, alerts, receivers, now)
    conn.execute("COMMIT")


def test_outage_delays_but_delivers_each_alert_once(
    conn: sqlite3.Connection,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """500, then 429 (Retry-After 30), then 200: each alert is delivered once, in order."""
    http_receiver.script((500, {}, "down"), (429, {"Retry-After": "30"}, "slow"), (200, {}, "ok"))
    alerts, clock = episode(), Clock()
    queue(conn, alerts, ["slack"], clock.now)
    d = dispatcher(conn, clock, slack=SlackNotifier(f"{http_receiver.url}/services/T/B/tok"))

    first = d.drain(clock.now)
    assert (first.retried["slack"], first.sent["slack"]) == (1, 0)
    assert d.drain(clock.now).retried["slack"] == 0, "not due again before the backoff"
    clock.now += backoff(0)
    assert d.drain(clock.now).retried["slack"] == 1
    clock.now += 29
    assert list(d.drain(clock.now).outcomes()) == [], "Retry-After 30 s is honoured"
    clock.now += 1
    assert d.drain(clock.now).sent["slack"] == 3

    assert d.pending() == {}
    delivered = [r.json()["blocks"][-1]["elements"][0]["text"] for r in http_receiver.requests[2:]]
    assert delivered == [f"delivery {a.delivery_id}" for a in alerts]


def test_bad_request_is_dead_lettered_and_logged(
    conn: sqlite3.Connection,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """A 400 dead-letters the row: counted, logged, never retried."""
    http_receiver.script((400, {}, "invalid_payload"))
    clock = Clock()
    queue(conn, episode()[:1], ["webhook"], clock.now)
    d = dispatcher(conn, clock, webhook=WebhookNotifier(f"{http_receiver.url}/hook"))
    with capture_logs() as logs:
        report = d.drain(clock.now)
    assert list(report.outcomes()) == [("webhook", "dead", 1)]
    assert [e["event"] for e in logs] == ["delivery refused; dead-lettered"]
    clock.now += 10_000
    d.drain(clock.now)
    assert len(http_receiver.requests) == 1
    assert outbox.dead_letters(conn)[0]["error"].startswith("webhook: HTTP 400")


def test_a_down_receiver_does_not_block_another(
    conn: sqlite3.Connection,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """With Slack failing, the webhook still gets every alert in the same drain."""
    with HttpReceiver() as slack:
        slack.script((503, {}, "down"))
        clock = Clock()
        queue(conn, episode(), ["slack", "webhook"], clock.now)
        d = dispatcher(
            conn,
            clock,
            slack=SlackNotifier(f"{slack.url}/s"),
            webhook=WebhookNotifier(f"{http_receiver.url}/hook"),
        )
        report = d.drain(clock.now)
        assert (report.sent["webhook"], report.retried["slack"]) == (3, 1)
        assert len(slack.requests) == 1, "a failing receiver is skipped for the rest of the drain"
        assert d.pending() == {"slack": 3}


def test_backoff_grows_and_is_capped() -> None:
    """Backoff doubles per attempt and never exceeds the cap: an outage never drops a row."""
    delays = [backoff(n) for n in range(50)]
    assert delays == sorted(delays)
    assert max(delays) == 600.0


def test_rows_for_unconfigured_receivers_stay_queued(conn: sqlite3.Connection) -> None:
    """A receiver without a notifier keeps its rows pending instead of losing them."""
    clock = Clock()
    queue(conn, episode()[:1], ["email"], clock.now)
    assert list(dispatcher(conn, clock).drain(clock.now).outcomes()) == []
    assert dispatcher(conn, clock).pending() == {"email": 1}
