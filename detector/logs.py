"""Structured logging, configured once by the entry point: JSON for machines, console for people.

Libraries that log through the standard `logging` module (waitress, httpx) are rendered by
the same processors, so a JSON log stays one JSON object per line, tracebacks included.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog

_configured: dict[str, str] = {}
"""The format `configure` set up last (empty before any)."""
Processor = Callable[[Any, str, dict[str, Any]], dict[str, Any]]


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at write time (it may be replaced after configure)."""

    def write(self, text: str) -> int:
        """Forward to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


def configure(
    fmt: str = "console",
    level: str = "info",
    stream: TextIO | None = None,
    mask: Processor | None = None,
) -> None:
    """Set up structlog (key-value events; ISO timestamps) writing to `stream` (stderr).

    `mask` (e.g. `alerting.masking.Masker()`) rewrites every event before it is rendered, so
    phone numbers never reach the log in clear.
    """
    _configured["format"] = fmt
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
    if mask is not None:
        shared.append(mask)
    _route_stdlib(shared, renderer, level, stream)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def configured_format() -> str | None:
    """The log format configured so far, or None before `configure`."""
    return _configured.get("format")


def report_error(
    message: str, code: int, fmt: str | None = None, stream: TextIO | None = None
) -> None:
    """Tell an operator what went wrong on exactly one line, in the log's format.

    JSON logs get one JSON object (`event: error`, the message, the exit code), so a log
    shipper never sees a stray text line; a console gets ``error: …``. Line breaks inside the
    message are folded, and nothing is wrapped at the terminal's width.
    """
    text = " ".join(message.split())
    out = stream or sys.stderr
    if (fmt or configured_format()) == "json":
        stamp = datetime.now(UTC).isoformat()
        record = {"event": "error", "level": "error", "error": text, "exit_code": code}
        out.write(json.dumps({**record, "timestamp": stamp}) + "\n")
    else:
        out.write(f"error: {text}\n")
    out.flush()


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
