"""Property tests of the alert policy: no duplicate FIRING, deterministic replays."""

from __future__ import annotations

import pickle
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from detector.alerting.policy import AlertPolicy, AlertsState
from detector.domain import Alert, AlertStatus, AlertTiming, Severity
from tests.policy_cases import at, finding

TIMINGS = st.builds(
    AlertTiming,
    for_s=st.sampled_from([0.0, 120.0, 600.0]),
    keep_firing_for_s=st.sampled_from([0.0, 300.0]),
    resolve_after_s=st.sampled_from([300.0, 900.0]),
    cooldown_s=st.sampled_from([0.0, 1800.0]),
    repeat_s=st.sampled_from([0.0, 1200.0]),
)
# (gap in minutes since the previous event, label "to" (or None = advance), severity)
EVENTS = st.lists(
    st.tuples(
        st.integers(0, 20),
        st.sampled_from(["+441", "+442", None]),
        st.sampled_from([Severity.WARNING, Severity.CRITICAL]),
    ),
    max_size=60,
)


def play(timing: AlertTiming, events: list[tuple[int, str | None, Severity]]) -> list[Alert]:
    """Run events through a fresh policy, pickling the state between steps like the store does."""
    policy, state, minute = AlertPolicy({"robocall": timing}), AlertsState(), 0
    alerts: list[Alert] = []
    for gap, to, severity in events:
        minute += gap
        if to is None:
            alerts += policy.advance(at(minute), state)
        else:
            f = finding(minute, severity, labels=(("to", to),))
            alerts += policy.on_finding(f, state)
        state = pickle.loads(pickle.dumps(state))  # noqa: S301 - our own bytes
    return alerts + policy.advance(at(minute + 24 * 60), state)


@settings(max_examples=200, deadline=None)
@given(TIMINGS, EVENTS)
def test_no_second_firing_without_resolved_except_escalation_or_repeat(
    timing: AlertTiming, events: list[tuple[int, str | None, Severity]]
) -> None:
    """Between two FIRING of one fingerprint lies a RESOLVED, a severity rise, or repeat_s."""
    last: dict[str, Alert | None] = defaultdict(lambda: None)
    for alert in play(timing, events):
        prev = last[alert.fingerprint]
        if alert.status is AlertStatus.FIRING and prev and prev.status is AlertStatus.FIRING:
            escalated = alert.severity > prev.severity
            gap = (alert.at - prev.at).total_seconds()
            repeated = timing.repeat_s > 0 and gap >= timing.repeat_s
            assert escalated or repeated
        if alert.status is AlertStatus.RESOLVED:
            assert prev is not None
            assert prev.status is AlertStatus.FIRING
        last[alert.fingerprint] = alert
    assert all(a is None or a.status is AlertStatus.RESOLVED for a in last.values())


@settings(max_examples=100, deadline=None)
@given(TIMINGS, EVENTS)
def test_replay_gives_identical_alerts(
    timing: AlertTiming, events: list[tuple[int, str | None, Severity]]
) -> None:
    """Replaying the same findings and watermarks yields the same alerts and delivery ids."""
    first, second = play(timing, events), play(timing, events)
    assert first == second
    ids = [a.delivery_id for a in first]
    assert len(ids) == len(set(ids))
