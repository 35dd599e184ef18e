"""Console: one structured log line per notification (always on; handy in demos and backtests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from detector.alerting.render import number, one_line


class ConsoleNotifier:
    """Logs each alert as a key-value event through structlog; never fails."""

    def __init__(self, *, name: str = "console", log: Any = None) -> None:
        self.name = name
        self._log = log if log is not None else structlog.get_logger(component="alerts")

    def send(self, alert_json: Mapping[str, Any]) -> None:
        """Write one line: status, severity, rule, account, value vs threshold, summary."""
        self._log.warning(
            "alert",
            status=alert_json.get("status"),
            severity=alert_json.get("severity"),
            rule=one_line(alert_json.get("rule", "")),
            account=one_line(alert_json.get("account", "")),
            value=number(alert_json.get("value")),
            threshold=number(alert_json.get("threshold")),
            summary=one_line(alert_json.get("summary", ""), 300),
            delivery_id=alert_json.get("delivery_id"),
        )

    def __repr__(self) -> str:
        return f"ConsoleNotifier(name={self.name!r})"
