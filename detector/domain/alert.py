"""Alerts: the notified form of findings, with a stable fingerprint and a lifecycle."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime

from detector.domain.finding import Severity


class AlertStatus(enum.StrEnum):
    """Alertmanager's vocabulary for a notification."""

    FIRING = "firing"
    RESOLVED = "resolved"


def fingerprint(source: str, labels: dict[str, str]) -> str:
    """Stable id of an alert: hash of the rule/model id and its sorted labels.

    >>> fingerprint("robocall", {"account": "MA_1"}) == fingerprint("robocall", {"account": "MA_1"})
    True
    >>> len(fingerprint("robocall", {"account": "MA_1"}))
    16
    """
    text = source + "\x00" + "\x00".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Alert:
    """One notification about a fingerprint: firing (possibly escalated) or resolved.

    `delivery_id` is unique per notification (fingerprint + sequence) so receivers can dedupe
    retries. `at` is event time of the transition; `starts_at` when the alert first fired.
    """

    fingerprint: str
    delivery_id: str
    source: str
    account: str
    severity: Severity
    status: AlertStatus
    at: datetime
    starts_at: datetime
    summary: str
    value: float
    threshold: float
    labels: tuple[tuple[str, str], ...]
    evidence: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    shadow: bool = False

    def to_json(self) -> dict[str, object]:
        """The JSON every webhook receiver and `alerts.jsonl` line gets."""
        return {
            "fingerprint": self.fingerprint,
            "delivery_id": self.delivery_id,
            "account": self.account,
            "rule": self.source,
            "severity": self.severity.label,
            "status": self.status.value,
            "at": iso(self.at),
            "starts_at": iso(self.starts_at),
            "summary": self.summary,
            "value": self.value,
            "threshold": self.threshold,
            "labels": dict(self.labels),
            "evidence": {"call_ids": list(self.evidence), **dict(self.details)},
            "shadow": self.shadow,
        }


def iso(ts: datetime) -> str:
    """ISO 8601 UTC with a Z suffix, second precision."""
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")
