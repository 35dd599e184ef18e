"""Golden notifications: one alert of every rule in `rules/`, as Slack Block Kit JSON, the
email's HTML and its plain-text part.

    make goldens            # = python -m tools.goldens: rewrites tests/golden/alerts/

The alert is made up the same way for every rule, whatever its id and kind (so a new or
renamed rule gets its golden files by running the command above): account `MA_85AF703A` in
the rule set's timezone, critical (else warning) at 1.12 × its threshold (a share at most
100 %), the account's norm (`expected`) when the rule's kind has a baseline, and 24 hours of
the account's calls in rupees (ordinary calls across India every 20 minutes, then the
incident's calls to Vietnamese mobiles in the rule's window, in the rule's direction). Review
a changed golden file for content before committing it: `tests/test_alert_goldens.py` fails
while any file differs from what this module builds.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from detector.alerting.briefing import brief
from detector.alerting.cards import Cards, card_of
from detector.alerting.content import Notice, view
from detector.alerting.mail import email_html, email_text
from detector.alerting.masking import Masker
from detector.alerting.render import slack_payload
from detector.domain import CDR
from detector.domain.cdr import Direction, Status
from detector.rules.kinds import KINDS
from detector.rules.loader import RuleSet, load_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
GOLDEN = ROOT / "tests" / "golden" / "alerts"
ACCOUNT = "MA_85AF703A"
AT = datetime(2026, 3, 5, 8, 38, 22, tzinfo=UTC)
BASE_URL = "http://detector.example:9108"
INCIDENT_CALLS = 12
USUAL_SHARE = 0.3
GROUPS = {
    "to": "+84328391186", "to_block": "+843283911", "direction": "outbound",
    "dest_country": "VN", "trunk": "trunk-1", "from": "+918045671234", "peer": "+84328391186",
    "pair": "+918045671234>+84328391186",
}  # fmt: skip
"""Made-up values of the group fields a rule may group by."""
NOTES = {
    "spike": "usually 1800", "new_value": "new dest_country VN",
    "sequence": "callback to +84328391186", "flatline": "no calls for 2h",
    "shift": "92% against a usual 30%",
    "outlier": "9 of 40 calls at or beyond 600 (talk_s), about 1.5 expected",
}  # fmt: skip
"""A note like the one each kind writes (see `detector.rules.kinds`)."""


def ruleset() -> RuleSet:
    """The default rule pack."""
    return load_rules(RULES)


def made_up_alert(rule: Any) -> dict[str, Any]:
    """The stored alert JSON (as `Alert.to_json` writes it) of one firing of `rule`."""
    t = rule.thresholds
    severity, level = ("critical", t.critical) if t.critical is not None else ("warning", t.warning)
    unit = card_of(rule).unit
    value = level * 1.12 if level else 1.0
    value = (level + 1) / 2 if unit == "share" else round(value, 2)
    if unit == "count":
        value = float(math.ceil(value))
    evidence: dict[str, Any] = {
        "call_ids": ["c-7f3a01", "c-7f3a02", "c-7f3a03"],
        "window_s": rule.window,
        "top_destinations": "+84328391186×2, +84919065413×1",
    }
    card = card_of(rule)
    if getattr(KINDS.get(rule.kind), "baseline", False):
        evidence["expected"] = {"money": 12.0, "duration": 180.0, "share": USUAL_SHARE}.get(
            card.norm_unit, 1.5 if rule.kind == "outlier" else 17.0
        )
    if rule.kind == "flatline":  # nothing to show but the silence; its value is the norm
        evidence.update(call_ids=[], top_destinations="", expected=value)
    if rule.kind in NOTES:
        evidence["note"] = NOTES[rule.kind]
    if rule.kind == "shift":
        evidence["note"] = f"{_share(value, unit):.0%} against a usual {USUAL_SHARE:.0%}"
    labels = {"account": ACCOUNT, **dict(rule.labels)}
    for name in rule.group_by:
        labels.setdefault(name, GROUPS.get(name, "x"))
    return {
        "fingerprint": f"{rule.id[:10]}-0001", "delivery_id": f"{rule.id}:1",
        "account": ACCOUNT, "rule": rule.id, "severity": severity, "status": "firing",
        "at": _iso(AT), "starts_at": _iso(AT - timedelta(minutes=4)),
        "summary": f"{ACCOUNT}: {rule.id} at {value:g}", "value": value, "threshold": level,
        "labels": labels, "evidence": evidence, "shadow": False,
    }  # fmt: skip


def _share(value: float, unit: str) -> float:
    """The window's share behind a shift's value: points above, or odds times the usual."""
    if unit == "times":
        odds = value * USUAL_SHARE / (1 - USUAL_SHARE)
        return odds / (1 + odds)
    return min(USUAL_SHARE + value, 1.0)


def made_up_calls(rule: Any) -> list[CDR]:
    """24 hours of the account's calls: ordinary ones, then the incident in the rule's window."""
    card = card_of(rule)
    scope = card.scope
    direction = Direction(scope.direction or "outbound")
    other = Direction.INBOUND if direction is Direction.OUTBOUND else Direction.OUTBOUND
    calls = [
        _call(f"c-{i:05d}", AT - timedelta(minutes=3 * i + 2),
              other if i % 3 == 0 else direction, "+919812345321", "IN", "MOBILE",
              talk=95 + (i % 5) * 30, cost=1.5 + (i % 3))
        for i in range(1, 480)
        if i % 4 or (i // 20) % 3 == 0
    ]  # fmt: skip
    if rule.kind == "flatline":
        return [c for c in calls if c.start < AT - timedelta(seconds=rule.window)]
    answered = scope.answered is not False and "no_answer" not in str(rule.model_dump())
    window = min(float(rule.window), 3600.0)
    value = float(made_up_alert(rule)["value"])
    each = value / INCIDENT_CALLS if card.unit == "money" else 56.0
    for i in range(INCIDENT_CALLS):
        start = AT - timedelta(seconds=window * (i + 0.5) / 12)
        to = f"+8432839{1186 + i * 7:04d}"
        calls.append(_call(f"c-7f3a{i + 1:02d}", start, direction, to, "VN", "MOBILE",
                           talk=240 if answered else 0, cost=each if answered else 0.0,
                           answered=answered))  # fmt: skip
    return sorted(calls, key=lambda c: c.start)


def _call(call_id: str, start: datetime, direction: Direction, to: str, country: str,
          kind: str, *, talk: float, cost: float, answered: bool = True) -> CDR:  # fmt: skip
    ring = 4.0
    answer = start + timedelta(seconds=ring) if answered else None
    return CDR(
        call_id=call_id, account=ACCOUNT, direction=direction,
        status=Status.ANSWERED if answered else Status.NO_ANSWER, start=start, answer=answer,
        end=start + timedelta(seconds=ring + talk), talk_s=talk, ring_s=ring,
        from_number="+918045671234", to_number=to, hangup_cause="NORMAL_CLEARING",
        cost=cost, currency="INR", dest_country=country, dest_type=kind,
    )  # fmt: skip


def notice_of(rule: Any, rules: RuleSet) -> Notice:
    """The notice of the made-up alert of `rule`, as the notification stage builds it."""
    masker = Masker()
    alert = made_up_alert(rule)
    cards = Cards.of_ruleset(rules)
    found = brief(alert, made_up_calls(rule), cards.of(rule.id).scope, masker)
    page = f"{BASE_URL}/api/alerts/{alert['fingerprint']}"
    links = [("Dashboard", f"https://grafana.example/d/cdr-detector-account?var-account={ACCOUNT}"),
             ("Alert page", page), ("Chart", f"{page}/chart.png")]  # fmt: skip
    shown = view(alert, masker, links[0][1], cards=cards, briefing=found, links=links,
                 base=BASE_URL)  # fmt: skip
    return Notice(alert["delivery_id"], "oncall", f"{rule.id}/{ACCOUNT}", {"account": ACCOUNT},
                  [shown], links[0][1])  # fmt: skip


def outputs(rule: Any, rules: RuleSet) -> dict[str, str]:
    """File name → content of the golden files of one rule."""
    notice = notice_of(rule, rules)
    return {
        f"{rule.id}.slack.json": json.dumps(slack_payload(notice), indent=2, ensure_ascii=False)
        + "\n",
        f"{rule.id}.html": email_html(notice) + "\n",
        f"{rule.id}.txt": email_text(notice),
    }


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    """Rewrite every golden file (and remove those of rules that are gone)."""
    rules = ruleset()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, str] = {}
    for rule in rules.rules:
        wanted.update(outputs(rule, rules))
    for old in GOLDEN.iterdir():
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        (GOLDEN / name).write_text(text)
    print(f"{len(wanted)} golden files for {len(rules.rules)} rules in {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
