"""Call attempts from CallInitiated webhooks: attempt-rate and refused-share findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detector.attempts import AttemptMonitor, AttemptRules
from detector.domain import Severity
from detector.webhooks.events import Attempt, Hangup, parse

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def attempts(n: int, per_s: float, *, allowed: bool = True, reason: str = "") -> list[Attempt]:
    """`n` attempts of account MA_1 at `per_s` a second from T0."""
    return [
        Attempt(f"a{i}", "MA_1", "trunk_1", "+919800000000", T0 + timedelta(seconds=i / per_s),
                allowed, reason)
        for i in range(n)
    ]  # fmt: skip


def test_a_dialer_burst_warns_then_goes_critical_once_each() -> None:
    """At 10 attempts a second the rate rule warns at 20 in 10 s and is critical at 50,
    one finding per level however long the burst lasts."""
    found = AttemptMonitor(AttemptRules()).observe(attempts(120, 10.0))
    assert [(f.source, f.severity) for f in found] == [
        ("attempts:rate", Severity.WARNING), ("attempts:rate", Severity.CRITICAL),
    ]  # fmt: skip
    assert found[0].at == T0 + timedelta(seconds=1.9)
    assert found[0].evidence == ("a15", "a16", "a17", "a18", "a19")


def test_an_ordinary_pace_raises_nothing() -> None:
    """One attempt every 2 s for an hour never reaches the rate threshold."""
    assert AttemptMonitor(AttemptRules()).observe(attempts(1800, 0.5)) == []


def test_attempts_refused_for_one_reason_are_reported_with_it() -> None:
    """Most attempts refused at the concurrency limit: the refused-share rule names it."""
    mixed = attempts(6, 0.2) + [
        Attempt(f"r{i}", "MA_1", "", "+91980", T0 + timedelta(seconds=31 + i), False,
                "concurrency_limit")
        for i in range(12)
    ]  # fmt: skip
    found = AttemptMonitor(AttemptRules()).observe(mixed)
    assert [(f.source, f.labels) for f in found] == [
        ("attempts:refused", (("reason", "concurrency_limit"),))
    ]
    assert found[0].value >= 0.5


def test_webhook_bodies_in_either_spelling_become_events() -> None:
    """The API's row names and Plivo-style CamelCase both parse; a Hangup gets a status."""
    hangup = parse(b'{"Event": "Hangup", "CallUUID": "c1", "From": "+919800000001", '
                   b'"To": "+919800000002", "BillDuration": 0, "HangupCause": "NO_ANSWER", '
                   b'"EndTime": "2026-03-02T12:00:30Z"}')  # fmt: skip
    assert isinstance(hangup, Hangup)
    assert hangup.row["status"] == "no_answer"
    assert hangup.at == T0 + timedelta(seconds=30)
    data = b'{"call_uuid": "c2", "Allowed": "false", "Reason": "cps_limit"}'
    initiated = parse(b'{"event": "CallInitiated", "timestamp": 1772452800, "data": ' + data + b"}")
    assert isinstance(initiated, Attempt)
    assert (initiated.allowed, initiated.reason, initiated.at) == (False, "cps_limit", T0)
