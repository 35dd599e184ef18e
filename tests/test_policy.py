"""Alert policy scenarios: fire, dedupe, escalate, repeat, resolve, cooldown, for, shadow."""

from __future__ import annotations

import pickle

import pytest

from detector.alerting.policy import AlertPolicy, AlertsState
from detector.domain import AlertTiming, fingerprint
from tests.policy_cases import C, W, at, finding, run, summary

BASE = AlertTiming(for_s=0, resolve_after_s=600, cooldown_s=1800)

#   minute:   0    3    6    9   ...  quiet 10 min  → resolved at last_seen + 10
SCENARIOS = [
    pytest.param(
        [("f", 0, W)],
        BASE,
        [(0, "firing", "warning")],
        id="first finding fires at once when for_s is 0",
    ),
    pytest.param(
        [("f", 0, W), ("f", 3, W), ("f", 6, W), ("adv", 12)],
        BASE,
        [(0, "firing", "warning")],
        id="heartbeats while firing notify nothing",
    ),
    pytest.param(
        [("f", 0, W), ("f", 3, C), ("f", 6, C), ("f", 9, W)],
        BASE,
        [(0, "firing", "warning"), (3, "firing", "critical")],
        id="warning to critical escalates once, a drop back is silent",
    ),
    pytest.param(
        [("f", 0, W), ("f", 5, W), ("adv", 14), ("adv", 15), ("adv", 30)],
        BASE,
        [(0, "firing", "warning"), (15, "resolved", "warning")],
        id="resolves once, stamped last finding plus resolve_after",
    ),
    pytest.param(
        [("f", 0, W), ("adv", 10), ("f", 20, W), ("adv", 30), ("f", 45, W)],
        BASE,
        [(0, "firing", "warning"), (10, "resolved", "warning"), (45, "firing", "warning")],
        id="cooldown: re-open within 30 min of the last firing is silent, later is not",
    ),
    pytest.param(
        [("f", 0, W), ("adv", 10), ("f", 20, C), ("adv", 40)],
        BASE,
        [
            (0, "firing", "warning"),
            (10, "resolved", "warning"),
            (20, "firing", "critical"),
            (30, "resolved", "critical"),
        ],
        id="cooldown does not swallow an escalation above the last notified severity",
    ),
    pytest.param(
        [("f", 0, C), ("adv", 120), ("f", 7, W), ("adv", 240)],
        BASE,
        [(0, "firing", "critical"), (10, "resolved", "critical")],
        id="cooldown holds for a finding two hours behind the watermark (a long call's)",
    ),
    pytest.param(
        [("f", 0, W), ("f", 2, W), ("f", 4, W), ("f", 5, W), ("adv", 20)],
        AlertTiming(for_s=300, resolve_after_s=600, cooldown_s=0),
        [(5, "firing", "warning"), (15, "resolved", "warning")],
        id="for_s keeps it pending until a finding 5 min after the first",
    ),
    pytest.param(
        [("f", 0, W), ("f", 2, W), ("adv", 20)],
        AlertTiming(for_s=300, resolve_after_s=600),
        [],
        id="a pending alert that goes quiet never notifies",
    ),
    pytest.param(
        [("f", 0, W), ("f", 20, W), ("f", 40, W), ("f", 61, W), ("f", 62, W)],
        AlertTiming(resolve_after_s=1800, repeat_s=3600),
        [(0, "firing", "warning"), (61, "firing", "warning")],
        id="repeat_s re-notifies a still-firing alert once per interval",
    ),
    pytest.param(
        [("f", 0, W), ("adv", 10), ("adv", 14), ("adv", 15)],
        AlertTiming(resolve_after_s=600, keep_firing_for_s=300),
        [(0, "firing", "warning"), (15, "resolved", "warning")],
        id="keep_firing_for_s extends the quiet time before resolving",
    ),
    pytest.param(
        [("f", 0, W), ("f", 15, W), ("adv", 15), ("adv", 30)],
        BASE,
        [(0, "firing", "warning"), (10, "resolved", "warning")],
        id="a CDR rule's findings 15 min apart are two episodes (its window emptied between)",
    ),
    pytest.param(
        [("f", 0, W), ("adv", 0), ("f", 15, W), ("adv", 15), ("f", 27, W), ("adv", 40)],
        AlertTiming(resolve_after_s=600, cooldown_s=0, ticks=True),
        [(0, "firing", "warning"), (37, "resolved", "warning")],
        id="a ticking rule's findings at sparse advances are one episode",
    ),
    pytest.param(
        [("f", 0, W), ("adv", 0), ("adv", 12), ("f", 15, W), ("adv", 15)],
        AlertTiming(resolve_after_s=600, cooldown_s=0, ticks=True),
        [(0, "firing", "warning"), (10, "resolved", "warning"), (15, "firing", "warning")],
        id="a ticking rule resolves at an advance that found nothing for the quiet time",
    ),
]


@pytest.mark.parametrize(("events", "timing", "expected"), SCENARIOS)
def test_scenario(events: list, timing: AlertTiming, expected: list) -> None:
    """Each scenario's findings and watermarks produce exactly the expected notifications."""
    alerts, _ = run(events, timing)
    assert summary(alerts) == expected


def test_shadow_findings_produce_shadow_alerts() -> None:
    """A shadow rule's alerts follow the same lifecycle but are all marked shadow."""
    alerts, _ = run([("f", 0, W), ("adv", 20)], BASE, shadow=True)
    assert summary(alerts) == [(0, "firing", "warning"), (10, "resolved", "warning")]
    assert all(a.shadow for a in alerts)


def test_state_open_is_truthy_only_while_pending_or_firing() -> None:
    """`state.open` is non-empty while an alert is open and empty once it resolved."""
    policy, state = AlertPolicy({"robocall": BASE}), AlertsState()
    policy.on_finding(finding(0), state)
    assert state.open
    policy.advance(at(30), state)
    assert not state.open


def test_delivery_ids_are_fingerprint_and_increasing_sequence() -> None:
    """Each notification of a fingerprint has id `fingerprint:seq` with a growing seq."""
    alerts, _ = run([("f", 0, W), ("f", 0, C), ("adv", 30), ("f", 60, W)], BASE)
    fp = fingerprint("robocall", {"account": "MA_1"})
    seqs = [int(a.delivery_id.split(":")[1]) for a in alerts]
    assert all(a.delivery_id.startswith(f"{fp}:") for a in alerts)
    assert len(alerts) == 4
    assert seqs == sorted(set(seqs))


def test_sequence_survives_lost_state() -> None:
    """After the account state is dropped, new notifications still get ids never used before."""
    first, _ = run([("f", 0, W), ("adv", 30)], BASE)
    later, _ = run([("f", 60 * 24 * 15, W)], BASE)
    assert {a.delivery_id for a in first}.isdisjoint(a.delivery_id for a in later)


def test_state_pickles_mid_episode() -> None:
    """A pickled and restored state continues exactly like the original."""
    policy, state = AlertPolicy({"robocall": BASE}), AlertsState()
    policy.on_finding(finding(0), state)
    copy = pickle.loads(pickle.dumps(state))  # noqa: S301 - our own bytes, like the store
    assert policy.advance(at(30), copy) == policy.advance(at(30), state)


def test_unknown_source_uses_default_timing() -> None:
    """A rule without its own timing resolves after the policy's default quiet time."""
    policy = AlertPolicy({}, AlertTiming(resolve_after_s=120))
    state = AlertsState()
    policy.on_finding(finding(0, source="other"), state)
    assert [a.status.value for a in policy.advance(at(2), state)] == ["resolved"]


def test_labels_split_fingerprints() -> None:
    """Findings of one rule with different labels are separate alerts."""
    policy, state = AlertPolicy({"robocall": BASE}), AlertsState()
    one = policy.on_finding(finding(0, labels=(("to", "+441"),)), state)
    two = policy.on_finding(finding(0, labels=(("to", "+442"),)), state)
    assert len(one) == len(two) == 1
    assert one[0].fingerprint != two[0].fingerprint


def test_alert_carries_finding_details_and_window() -> None:
    """The alert JSON has the finding's evidence, value, threshold and window."""
    [alert] = AlertPolicy({"robocall": BASE}).on_finding(finding(0, C), AlertsState())
    body = alert.to_json()
    assert body["evidence"] == {"call_ids": ["call-0"], "window_s": "600"}
    assert (body["value"], body["threshold"], body["severity"]) == (42.0, 40.0, "critical")
