"""The outbox on a real SQLite file: idempotent enqueue, due ordering, retry and dead letters."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from detector.alerting import outbox
from detector.alerting.policy import AlertPolicy, AlertsState
from detector.domain import Alert, AlertTiming
from tests.policy_cases import C, W, at, finding


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh SQLite file with the outbox schema."""
    c = sqlite3.connect(tmp_path / "state.sqlite")
    outbox.create_schema(c)
    c.commit()
    yield c
    c.close()


def episode() -> list[Alert]:
    """FIRING, escalation and RESOLVED of one fingerprint, in order."""
    policy, state = AlertPolicy({"robocall": AlertTiming(resolve_after_s=600)}), AlertsState()
    alerts = policy.on_finding(finding(0, W), state) + policy.on_finding(finding(1, C), state)
    return alerts + policy.advance(at(30), state)


def test_enqueue_is_idempotent(conn: sqlite3.Connection) -> None:
    """Enqueueing the same alerts twice (a replayed cycle) adds no rows."""
    alerts = episode()
    assert outbox.enqueue(conn, alerts, ["slack", "email"], 100.0) == 6
    assert outbox.enqueue(conn, alerts, ["slack", "email"], 200.0) == 0
    conn.commit()
    assert outbox.pending_count(conn) == {"slack": 3, "email": 3}


def test_enqueue_does_not_commit(conn: sqlite3.Connection, tmp_path: Path) -> None:
    """Rows enqueued inside the caller's transaction vanish when it rolls back."""
    outbox.enqueue(conn, episode(), ["slack"], 100.0)
    conn.rollback()
    assert outbox.pending_count(conn) == {}


def test_due_is_oldest_first_and_payload_is_alert_json(conn: sqlite3.Connection) -> None:
    """Due rows come in enqueue order with the alert's JSON as payload."""
    alerts = episode()
    outbox.enqueue(conn, alerts, ["webhook"], 100.0)
    items = outbox.due(conn, 100.0, 10)
    assert [i.payload for i in items][:1] == [alerts[0].to_json()]
    assert items[0].delivery_id == alerts[0].delivery_id
    assert outbox.due(conn, 99.0, 10) == []


def test_later_rows_of_a_fingerprint_wait_for_the_first(conn: sqlite3.Connection) -> None:
    """While a FIRING waits for a retry, its escalation and RESOLVED are not due either."""
    alerts = episode()
    outbox.enqueue(conn, alerts, ["slack", "email"], 100.0)
    first = alerts[0].delivery_id
    outbox.mark_retry(conn, first, "slack", 160.0, "HTTP 500")
    due = outbox.due(conn, 150.0, 10)
    assert [(i.delivery_id, i.receiver) for i in due] == [(first, "email")]
    outbox.mark_sent(conn, first, "email", 150.0)
    assert [i.delivery_id for i in outbox.due(conn, 150.0, 10)] == [alerts[1].delivery_id]


def test_retry_schedules_and_counts_attempts(conn: sqlite3.Connection) -> None:
    """A retried row is due again at next_at with its attempts counted."""
    [alert] = episode()[:1]
    outbox.enqueue(conn, [alert], ["slack"], 100.0)
    outbox.mark_retry(conn, alert.delivery_id, "slack", 130.0, "HTTP 429")
    assert outbox.due(conn, 129.0, 10) == []
    [item] = outbox.due(conn, 130.0, 10)
    assert (item.attempts, item.next_at) == (1, 130.0)


def test_sent_and_dead_rows_leave_the_queue(conn: sqlite3.Connection) -> None:
    """Sent and dead-lettered rows are no longer pending; dead letters are listed."""
    fire, escalate, resolve = episode()
    outbox.enqueue(conn, [fire, escalate, resolve], ["slack"], 100.0)
    outbox.mark_sent(conn, fire.delivery_id, "slack", 101.0)
    outbox.mark_dead(conn, escalate.delivery_id, "slack", "HTTP 400: invalid_blocks", 102.0)
    assert outbox.pending_count(conn) == {"slack": 1}
    assert outbox.dead_letters(conn) == [
        {"delivery_id": escalate.delivery_id, "receiver": "slack", "attempts": 1,
         "error": "HTTP 400: invalid_blocks"}
    ]  # fmt: skip
    assert outbox.purge_done(conn, 200.0) == 1
