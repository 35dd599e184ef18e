"""STUB (to be replaced by the alerting work): the alert policy contract used by the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detector.domain import Alert, Finding


@dataclass(slots=True)
class AlertsState:
    """Per-account lifecycle of each fingerprint; picklable."""

    open: dict[str, Any] = field(default_factory=dict)


class AlertPolicy:
    """Turns findings into alert transitions: fire, escalate, resolve; cooldown and dedupe."""

    def on_finding(self, finding: Finding, state: AlertsState) -> list[Alert]:
        """A finding arrived for this account; return the notifications it causes (maybe none)."""
        raise NotImplementedError

    def advance(self, watermark: datetime, state: AlertsState) -> list[Alert]:
        """Event time passed; resolve fingerprints quiet for long enough."""
        raise NotImplementedError
