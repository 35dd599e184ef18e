"""Structured logging, configured once by the entry point: JSON for machines, console for people.

Libraries that log through the standard `logging` module (waitress, httpx) are rendered by
the same processors, so a JSON log stays one JSON object per line, tracebacks included.
"""

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
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    _route_stdlib(shared, renderer, level, stream)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get(name: str) -> Any:
    """A bound logger for one component."""
    return structlog.get_logger(component=name)


def _route_stdlib(shared: list[Any], renderer: Any, level: str, stream: TextIO | None) -> None:
    """Render records of the standard `logging` module with structlog's processors."""
    handler = logging.StreamHandler(stream or _CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelName(level.upper()))
    # waitress says "Task queue depth is N" at warning level under any burst: that is its job
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
