"""The default pack judges every account against itself: its verdict does not depend on size.

Issue 9's property: scaling an account's whole traffic tenfold (its ordinary days and the
incident alike) does not change whether a rule alerts. Hypothesis draws an account (calls a
day, answer rate, talk time), a pattern (one of the named detections, or nothing) and runs the
pattern's rule from `rules/` on the account and on the same account ten times as busy.
Incidents are drawn clearly above the rules' lines and ordinary traffic clearly below (the
ambiguous middle, where more evidence may tip a verdict, is by design outside the property),
so the property is "same verdict", and the two verdicts are also checked against the truth.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.rules.engine import RuleEngine
from detector.rules.loader import load_rules
from detector.rules.testing import DEFAULT_START, Case, run_case

PACK = load_rules(Path(__file__).resolve().parent.parent / "rules")
NO_ANSWER = {"status": "no_answer", "ring_s": 40, "vary": "to"}
INCIDENTS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "no_answer": ("no-answer-surge-hour", [{"count": 40, "every": "60s", **NO_ANSWER}]),
    "route_failure": ("failure-surge-hour", [
        {"count": 40, "every": "60s", "status": "failed", "hangup_cause": "SWITCH_CONGESTION",
         "ring_s": 0, "vary": "to"}]),
    "robocall": ("robocall-short-answered", [
        {"count": 40, "every": "30s", "talk_s": 3, "vary": "to"}]),
    "long_calls": ("duration-long-calls", [
        {"count": 12, "every": "5m", "talk_s": 5400, "vary": "to"}]),
    "wangiri_out": ("wangiri-outbound-burst", [
        {"count": 40, "every": "30s", "status": "cancelled", "ring_s": 2,
         "to": "+447700000000", "dest_country": "GB", "vary": "to"}]),
}  # fmt: skip
ORDINARY = [{"count": 20, "every": "3m", "talk_s": 100, "vary": "to"}]


def verdicts(rule: str, case: Case) -> list[bool]:
    """Whether `rule` alerts on the case for the account as drawn and ten times as busy."""
    engine = RuleEngine(replace(PACK, rules=tuple(r for r in PACK.rules if r.id == rule)))
    return [bool(run_case(engine, case, factor)) for factor in (1.0, 10.0)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern=st.sampled_from(sorted(INCIDENTS)),
    present=st.booleans(),
    per_day=st.integers(min_value=150, max_value=600),
    answered=st.floats(min_value=0.45, max_value=0.85),
    talk_s=st.floats(min_value=40.0, max_value=240.0),
)
def test_ten_times_the_traffic_gives_the_same_verdict(
    pattern: str, present: bool, per_day: int, answered: float, talk_s: float
) -> None:
    """An account and the same account ten times as busy get the same verdict, and it is right."""
    rule, rows = INCIDENTS[pattern]
    background = {"per_day": per_day, "days": 3, "answered": answered, "talk_s": talk_s,
                  "talk_sigma": 0.6}  # fmt: skip
    case = Case.model_validate({
        "name": f"{pattern}-{per_day}", "start": DEFAULT_START + timedelta(hours=1),
        "background": background, "cdrs": rows if present else ORDINARY,
        "expect": {"severity": "none"},
    })  # fmt: skip
    assert verdicts(rule, case) == [present, present]
