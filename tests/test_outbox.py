"""The outbox on a real SQLite file, worked by the delivery side's own connection: idempotent
enqueue, due ordering, retry, dead letters, the backlog cap, re-queueing; and the cycle's commit
queueing each new alert once for the notification stage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from detector.alerting.policy import AlertPolicy, AlertsState
from detector.domain import Alert, AlertTiming
from detector.state.outbox import Envelope, Outbox
from detector.state.store import Cycle, StateStore
from tests.policy_cases import C, W, at, finding


def episode() -> list[Alert]:
    """FIRING, escalation and RESOLVED of one fingerprint, in order."""
    policy, state = AlertPolicy({"robocall": AlertTiming(resolve_after_s=600)}), AlertsState()
    alerts = policy.on_finding(finding(0, W), state) + policy.on_finding(finding(1, C), state)
    return alerts + policy.advance(at(30), state)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    """A fresh state file."""
    s = StateStore(tmp_path / "state.sqlite")
    yield s
    s.close()


@pytest.fixture
def box(store: StateStore) -> Iterator[Outbox]:
    """The delivery side's handle on the same file."""
    b = store.outbox()
    yield b
    b.close()


def commit(store: StateStore, alerts: list[Alert], receivers: list[str], now: float) -> None:
    """Queue one notification per alert and receiver (what the notification stage writes)."""
    with store.outbox() as box:
        box.enqueue(envelopes(alerts, receivers), now)


def envelopes(alerts: list[Alert], receivers: list[str]) -> list[Envelope]:
    """One envelope per alert and receiver, keyed by the alert's fingerprint."""
    return [
        Envelope(a.delivery_id, r, a.fingerprint, a.to_json()) for a in alerts for r in receivers
    ]


def test_the_same_notification_queued_twice_is_one_row(store: StateStore, box: Outbox) -> None:
    """Enqueueing the same notifications again (a replay) leaves one row per receiver."""
    alerts = episode()
    assert box.enqueue(envelopes(alerts, ["slack", "email"]), 100.0) == 6
    assert box.enqueue(envelopes(alerts, ["slack", "email"]), 200.0) == 0
    assert box.pending() == {"slack": 3, "email": 3}


def test_a_committed_alert_is_queued_for_notification_once(store: StateStore) -> None:
    """The cycle queues each new alert for the notification stage; a replayed cycle adds none,
    and a shadow alert is recorded but never queued."""
    alerts = episode()
    shadow = replace(alerts[0], delivery_id="shadow:1", fingerprint="shadow", shadow=True)
    store.commit_cycle(Cycle(cursor=None, alerts=[*alerts, shadow]))
    store.commit_cycle(Cycle(cursor=None, alerts=[*alerts, shadow]))
    with store.notifications() as stage:
        queued = [body["delivery_id"] for _, body in stage.take(100)]
    assert queued == [a.delivery_id for a in alerts]
    assert "shadow:1" in [a["delivery_id"] for a in store.recent_alerts()]


def test_due_is_oldest_first_and_payload_is_alert_json(store: StateStore, box: Outbox) -> None:
    """Due rows come in enqueue order with the alert's JSON as payload, not before `now`."""
    alerts = episode()
    commit(store, alerts, ["webhook"], 100.0)
    items = box.due(100.0, 10, "webhook")
    assert [i.payload for i in items][:1] == [alerts[0].to_json()]
    assert box.due(99.0, 10, "webhook") == []
    assert box.next_due("webhook") == 100.0


def test_later_rows_of_a_fingerprint_wait_for_the_first(store: StateStore, box: Outbox) -> None:
    """While a FIRING waits for a retry, its escalation and RESOLVED are not due either."""
    alerts = episode()
    commit(store, alerts, ["slack", "email"], 100.0)
    [first] = box.due(100.0, 1, "slack")
    box.mark_retry(first, 160.0, "HTTP 500")
    assert box.due(150.0, 10, "slack") == []
    [email] = box.due(150.0, 1, "email")
    box.mark_sent(email, 150.0)
    assert [i.delivery_id for i in box.due(150.0, 10, "email")] == [alerts[1].delivery_id]
    [again] = box.due(160.0, 10, "slack")
    assert (again.delivery_id, again.attempts) == (alerts[0].delivery_id, 1)


def test_dead_letters_are_listed_counted_and_requeued(store: StateStore, box: Outbox) -> None:
    """A dead letter leaves the queue, shows in inspect, and `requeue_dead` makes it due again."""
    fire, escalate, resolve = episode()
    commit(store, [fire, escalate, resolve], ["slack"], 100.0)
    [item] = box.due(100.0, 1, "slack")
    box.mark_dead(item, "slack: HTTP 400: invalid_blocks", 101.0)
    assert box.pending() == {"slack": 2}
    info = store.inspect()
    assert info["dead_letters"] == {"slack": 1}
    assert info["recent_dead_letters"][0]["error"] == "slack: HTTP 400: invalid_blocks"
    assert box.requeue_dead(500.0) == 1
    assert [i.delivery_id for i in box.due(500.0, 10, "slack")] == [fire.delivery_id]


def test_the_backlog_cap_dead_letters_the_oldest(store: StateStore, box: Outbox) -> None:
    """Beyond `keep` pending rows the oldest become dead letters, saying how to re-queue them."""
    commit(store, episode(), ["slack"], 100.0)
    assert box.cap("slack", 1, 200.0) == 2
    assert box.pending() == {"slack": 1}
    assert "outbox retry" in box.dead_letters()[0]["error"]


def test_sent_rows_are_purged_after_retention_and_dead_letters_kept(
    store: StateStore, box: Outbox
) -> None:
    """`purge_sent` removes rows sent before the cut-off and never a dead letter."""
    fire, escalate, _ = episode()
    commit(store, [fire, escalate], ["slack"], 100.0)
    [a] = box.due(100.0, 1, "slack")
    box.mark_sent(a, 110.0)
    [b] = box.due(100.0, 1, "slack")
    box.mark_dead(b, "gone", 120.0)
    assert store.purge_sent(115.0) == 1
    assert store.purge_sent(10_000.0) == 0
    assert box.dead() == {"slack": 1}
