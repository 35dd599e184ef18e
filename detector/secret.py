"""Secrets: values that never show themselves, read from a named variable or a file.

The settings name where a secret is (`*_env`, `*_file`); `read_secret` fetches it, and the
`Secret` it returns prints as ``Secret('***')`` in reprs, logs and error messages.
"""

from __future__ import annotations

import os
from pathlib import Path

from detector.errors import ConfigError

AUTH_ID_ENV = "CDR_DETECTOR_AUTH_ID"
AUTH_TOKEN_ENV = "CDR_DETECTOR_AUTH_TOKEN"  # noqa: S105 - the variable's name, not a secret


class Secret:
    """A value that never shows itself in reprs, logs or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def read_secret(env: str | None, file: Path | None, what: str) -> Secret | None:
    """Resolve a secret from a named environment variable or a file; None when neither is set."""
    if file is not None:
        try:
            return Secret(file.read_text().strip())
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read secret file {file}: {exc.strerror}") from exc
    if env and os.environ.get(env):
        return Secret(os.environ[env])
    return None
