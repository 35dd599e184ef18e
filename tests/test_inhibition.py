"""Inhibition: a slower rule's alert on a key its faster sibling already told about is silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.alerting.policy import AlertPolicy, AlertsState
from detector.domain import Alert, AlertTiming, Finding, Severity
from detector.errors import RuleError
from detector.rules.loader import load_rules
from tests.policy_cases import C, W, at, finding, summary

FAST = AlertTiming(resolve_after_s=1200, cooldown_s=1800)
SLOW = AlertTiming(resolve_after_s=4 * 3600, cooldown_s=1800, inhibited_by=("fast",))
OUTBOUND = (("direction", "outbound"), ("pattern", "no_answer_surge"))
INBOUND = (("direction", "inbound"), ("pattern", "no_answer_surge"))


Labels = tuple[tuple[str, str], ...]


def fast(minute: float, severity: Severity = C, labels: Labels = OUTBOUND) -> Finding:
    """A finding of the 20-minute rule."""
    return finding(minute, severity, source="fast", labels=labels)


def slow(minute: float, severity: Severity = W, labels: Labels = OUTBOUND) -> Finding:
    """A finding of the 4-hour rule."""
    return finding(minute, severity, source="slow", labels=labels)


def play(*events: Finding | float) -> list[Alert]:
    """Feed findings (and watermarks, as minutes) through one policy; every notification."""
    policy, state = AlertPolicy({"fast": FAST, "slow": SLOW}), AlertsState()
    alerts: list[Alert] = []
    for event in events:
        if isinstance(event, Finding):
            alerts += policy.on_finding(event, state)
        else:
            alerts += policy.advance(at(event), state)
    return alerts


def test_a_slow_rule_tipped_after_its_fast_sibling_resolved_stays_silent() -> None:
    """The surge the 20-minute rule told about at 0-15 tips the 4-hour window at 150 min,
    within its window of the fast alert: no second notification, and no resolution of it."""
    alerts = play(fast(0), fast(15), 100.0, slow(150), slow(160), 600.0)
    assert summary(alerts) == [(0, "firing", "critical"), (35, "resolved", "critical")]


def test_a_slow_rule_more_severe_than_what_was_told_notifies() -> None:
    """A fast warning does not hide a slow critical: the escalation is news."""
    alerts = play(fast(0, W), 40.0, slow(90, C))
    assert [(a.source, a.status.value, a.severity.label) for a in alerts] == [
        ("fast", "firing", "warning"),
        ("fast", "resolved", "warning"),
        ("slow", "firing", "critical"),
    ]


def test_a_slow_alert_beyond_its_window_of_the_fast_one_notifies() -> None:
    """Five hours after the fast alert the 4-hour window holds none of what was told."""
    alerts = play(fast(0), 40.0, slow(300))
    assert [a.source for a in alerts if a.status.value == "firing"] == ["fast", "slow"]


def test_a_fast_alert_on_another_key_inhibits_nothing() -> None:
    """Inhibition needs equal labels: inbound calls told nothing about outbound ones."""
    alerts = play(fast(0, labels=INBOUND), 40.0, slow(90))
    assert [a.source for a in alerts if a.status.value == "firing"] == ["fast", "slow"]


def test_a_slow_rule_without_a_told_sibling_notifies_as_before() -> None:
    """A surge only the slow rule sees (a quiet account) is notified at once."""
    assert summary(play(slow(90))) == [(90, "firing", "warning")]


def test_what_was_told_is_remembered_as_long_as_the_window() -> None:
    """An inhibited rule with a window longer than the policy's day of memory keeps the fast
    alert's memory that long, and no longer."""
    days = AlertTiming(resolve_after_s=2 * 86400, cooldown_s=1800, inhibited_by=("fast",))
    policy, state = AlertPolicy({"fast": FAST, "slow": days}), AlertsState()
    policy.on_finding(fast(0), state)
    policy.advance(at(2 * 1440 - 1), state)
    assert state.recent
    policy.on_finding(slow(2 * 1440 - 1), state)
    assert policy.advance(at(2 * 1440 + 1), state) == []
    assert not [fp for fp, m in state.recent.items() if m.last_fired == at(0)]


RULE = """\
id: {id}
kind: shift
match: {{status: [answered, no_answer]}}
group_by: [account, direction]
where: {{status: no_answer}}
window: {window}
prior: 0.3
thresholds: {{warning: 0.2, critical: 0.4}}
labels: {{pattern: no_answer_surge}}
"""


def load_error(tmp_path: Path, slow_extra: str, fast_rule: str = RULE) -> RuleError:
    """Load a fast and a slow rule (the slow one with `slow_extra`); the error it raises."""
    (tmp_path / "fast.yaml").write_text(fast_rule.format(id="fast", window="20m"))
    (tmp_path / "slow.yaml").write_text(RULE.format(id="slow", window="4h") + slow_extra)
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    return info.value


def test_siblings_with_equal_labels_load(tmp_path: Path) -> None:
    """`inhibited_by` naming a sibling with the same labels and keys loads into the timing."""
    (tmp_path / "fast.yaml").write_text(RULE.format(id="fast", window="20m"))
    slow = RULE.format(id="slow", window="4h") + "inhibited_by: [fast]\n"
    (tmp_path / "slow.yaml").write_text(slow)
    rules = {r.id: r for r in load_rules(tmp_path).rules}
    assert rules["slow"].inhibited_by == ("fast",)


def test_an_unknown_rule_is_refused_with_its_line(tmp_path: Path) -> None:
    """A misspelt sibling would inhibit nothing, silently: it is refused, naming the field."""
    error = load_error(tmp_path, "inhibited_by: [fsat]\n")
    assert (error.rule, error.field, error.line) == ("slow", "inhibited_by", 10)
    assert "'fsat'" in str(error)
    assert "no rule file defines" in str(error)


def test_a_sibling_with_other_labels_is_refused(tmp_path: Path) -> None:
    """Alerts with other labels never share a key, so the inhibition could never apply."""
    other = RULE.replace("no_answer_surge", "route_failure")
    error = load_error(tmp_path, "inhibited_by: [fast]\n", other)
    assert "other labels or group_by" in str(error)


def test_a_rule_cannot_inhibit_itself(tmp_path: Path) -> None:
    """Self-inhibition would silence every re-opening: refused."""
    error = load_error(tmp_path, "inhibited_by: [slow]\n")
    assert "cannot inhibit itself" in str(error)
