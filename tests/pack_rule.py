"""One rule of the shipped pack fed CDRs the way the feed delivers them: in the order they end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from detector.domain import CDR, Finding
from detector.rules.engine import RuleEngine
from detector.rules.testing import ruleset_of

RULES = Path(__file__).resolve().parent.parent / "rules"


def pack_findings(rule_id: str, cdrs: list[CDR]) -> list[Finding]:
    """The findings above `none` of pack rule `rule_id` over `cdrs`, fed by end time."""
    spec: dict[str, Any] = yaml.safe_load((RULES / f"{rule_id}.yaml").read_text())
    engine = RuleEngine(ruleset_of(spec))
    state = engine.new_state()
    found: list[Finding] = []
    for cdr in sorted(cdrs, key=lambda c: c.end):
        found.extend(f for f in engine.observe(cdr, state) if f.severity.value != "none")
    return found
