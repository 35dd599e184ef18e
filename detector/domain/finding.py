"""What a rule or a model saw: a `Finding`, before any alert policy is applied."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Severity(enum.IntEnum):
    """Ordered severities; comparisons work (`CRITICAL > WARNING`)."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        """Lower-case name used in labels and payloads."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation that crossed a threshold.

    `source` is the rule id or model id; `key` the group key (the account for per-account
    rules); `labels` carries extra group labels (e.g. ``{"to": "+44…"}``). `at` is event time.
    """

    source: str
    account: str
    key: str
    severity: Severity
    value: float
    threshold: float
    window_s: float
    at: datetime
    summary: str
    evidence: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    details: tuple[tuple[str, str], ...] = field(default=())
    shadow: bool = False
