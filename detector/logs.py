"""Structured logging, configured once by the entry point: JSON for machines, console for people."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at write time (it may be replaced after configure)."""

    def write(self, text: str) -> int:
        """Forward to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


def configure(fmt: str = "console", level: str = "info", stream: TextIO | None = None) -> None:
    """Set up structlog (key-value events; ISO timestamps) writing to `stream` (stderr)."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=(stream or sys.stderr).isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get(name: str) -> Any:
    """A bound logger for one component."""
    return structlog.get_logger(component=name)
