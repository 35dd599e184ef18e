"""A validated rule set: what the rule engine runs, with no trace of where it was read from.

The engine, `explain` and the reload bookkeeping take a `RuleSet`; only `rules.loader` (and the
fixtures runner) read files to build one, so the detection core reads no files (an import
contract in pyproject.toml keeps it so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from detector.rules.spec import AnyRule, RuleSettings


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Validated rules (enabled ones, in file-name order), their list files and settings."""

    rules: tuple[AnyRule, ...]
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    settings: RuleSettings = field(default_factory=RuleSettings)
    files: Mapping[str, str] = field(default_factory=dict)
    """Rule id → the file it came from."""
