"""Frozen value types that flow through the core: CDR, Finding, Alert."""

from detector.domain.alert import Alert, AlertStatus, fingerprint, iso
from detector.domain.cdr import CDR, REJECT_REASONS, Direction, Rejected, Status
from detector.domain.finding import Finding, Severity
from detector.domain.timing import AlertTiming

__all__ = [
    "CDR",
    "REJECT_REASONS",
    "Alert",
    "AlertStatus",
    "AlertTiming",
    "Direction",
    "Finding",
    "Rejected",
    "Severity",
    "Status",
    "fingerprint",
    "iso",
]
