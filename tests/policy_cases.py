"""Shared builders for alert-policy tests: findings at minute offsets and a scenario runner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from detector.alerting.policy import AlertPolicy, AlertsState
from detector.domain import Alert, AlertTiming, Finding, Severity

T0 = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
W, C = Severity.WARNING, Severity.CRITICAL

# ("f", minute, severity) a finding; ("adv", minute) the watermark reaches that minute.
Event = tuple[str, float] | tuple[str, float, Severity]


def at(minute: float) -> datetime:
    """Event time `minute` minutes after T0."""
    return T0 + timedelta(minutes=minute)


def finding(
    minute: float,
    severity: Severity = W,
    *,
    source: str = "robocall",
    account: str = "MA_1",
    labels: tuple[tuple[str, str], ...] = (),
    shadow: bool = False,
) -> Finding:
    """A finding of `source` for `account` at `minute`."""
    return Finding(
        source=source,
        account=account,
        key=account,
        severity=severity,
        value=42.0 if severity is C else 25.0,
        threshold=40.0 if severity is C else 20.0,
        window_s=600.0,
        at=at(minute),
        summary=f"{source} on {account}",
        evidence=(f"call-{minute:g}",),
        labels=(("account", account), *labels),
        shadow=shadow,
    )


def run(
    events: Sequence[Event], timing: AlertTiming, *, shadow: bool = False
) -> tuple[list[Alert], AlertsState]:
    """Feed a scenario through a fresh policy; return every alert and the final state."""
    policy = AlertPolicy({"robocall": timing})
    state = AlertsState()
    alerts: list[Alert] = []
    for event in events:
        if event[0] == "f":
            assert len(event) == 3
            alerts += policy.on_finding(finding(event[1], event[2], shadow=shadow), state)
        else:
            alerts += policy.advance(at(event[1]), state)
    return alerts, state


def summary(alerts: Sequence[Alert]) -> list[tuple[float, str, str]]:
    """(minute, status, severity) of each alert, for compact comparisons."""
    return [((a.at - T0).total_seconds() / 60, a.status.value, a.severity.label) for a in alerts]
