"""Console: one structured log line per alert of a notification (always on; demos, backtests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from detector.alerting.content import Notice
from detector.alerting.render import heading, measure, one_line


class ConsoleNotifier:
    """Logs each alert of a notice as a key-value event through structlog; never fails."""

    def __init__(self, *, name: str = "console", log: Any = None) -> None:
        self.name = name
        self._log = log if log is not None else structlog.get_logger(component="alerts")

    def send(self, payload: Mapping[str, Any]) -> None:
        """Write one line per alert: status, severity, rule, account, value, summary."""
        notice = Notice.from_json(payload)
        for alert in notice.alerts:
            self._log.warning(
                "alert",
                status=alert.status,
                severity=alert.severity,
                rule=one_line(alert.rule),
                account=one_line(alert.account),
                value=measure(alert),
                summary=one_line(heading(alert), 300),
                delivery_id=alert.delivery_id,
            )

    def __repr__(self) -> str:
        return f"ConsoleNotifier(name={self.name!r})"
