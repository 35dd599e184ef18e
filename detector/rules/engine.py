"""STUB (to be replaced by the rules work): the rule engine contract used by the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detector.domain import CDR, Finding


@dataclass(slots=True)
class RulesState:
    """Per-account state of every rule (windows per rule id and group key); picklable."""

    by_rule: dict[str, Any] = field(default_factory=dict)


class RuleEngine:
    """Evaluates a loaded rule set against CDRs of one account at a time."""

    def new_state(self) -> RulesState:
        """Empty state for a newly seen account."""
        return RulesState()

    def observe(self, cdr: CDR, state: RulesState) -> list[Finding]:
        """Add one CDR to its account's windows and return findings that crossed a threshold."""
        raise NotImplementedError

    def advance(self, account: str, watermark: datetime, state: RulesState) -> list[Finding]:
        """Event time passed to `watermark` (e.g. flatline checks); usually returns []."""
        raise NotImplementedError
