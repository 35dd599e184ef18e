"""Golden notifications of every default rule, and the checks every channel's output passes.

The rules are whatever `rules/` holds: `make goldens` rewrites the files after a rule changes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block

from detector.alerting.cards import card_of, show
from tools import goldens

RULES = goldens.ruleset()
IDS = [r.id for r in RULES.rules]
BY_ID = {r.id: r for r in RULES.rules}
SLACK_TEXT_LIMIT = 3000
"""Slack's documented limit for a section's text; fields are 2000, headers 150."""


@pytest.mark.parametrize("rule_id", IDS)
def test_golden_files_match(rule_id: str) -> None:
    """Each rule's Slack JSON, email HTML and text part equal the reviewed golden files."""
    for name, text in goldens.outputs(BY_ID[rule_id], RULES).items():
        path = goldens.GOLDEN / name
        assert path.exists(), f"{path} missing: run `make goldens` and review it"
        assert path.read_text() == text, f"{path} is stale: run `make goldens` and review the diff"


def test_no_golden_file_without_its_rule() -> None:
    """Golden files of removed or renamed rules are gone (`make goldens` prunes them)."""
    names = {p.name for p in goldens.GOLDEN.iterdir()}
    wanted = {n for r in RULES.rules for n in goldens.outputs(r, RULES)}
    assert names == wanted


@pytest.mark.parametrize("rule_id", IDS)
def test_every_channel_says_what_happened_and_the_next_step(rule_id: str) -> None:
    """Slack, HTML and text all carry the headline with rupees or the norm, and the runbook."""
    rule = BY_ID[rule_id]
    notice = goldens.notice_of(rule, RULES)
    alert = notice.alerts[0]
    assert alert.headline
    assert alert.runbook == rule.runbook
    out = goldens.outputs(rule, RULES)
    for name, text in out.items():
        assert "Next step" in text, name
        assert "Value" in text, name
        assert "IST (" in text, name
        if alert.briefing is not None and alert.briefing.calls:
            assert "Share of traffic" in text, name
            assert "Vietnam" in text, name
        assert "cdr-detector silence add rule=" in text, name
    if alert.unit == "money":
        assert "₹" in alert.headline
    if alert.expected is not None:  # the norm, in the headline's own words or added to it
        norm = show(alert.expected, alert.norm_unit, alert.currency)  # type: ignore[arg-type]
        assert any(word in alert.headline for word in (norm, "usual", "expected"))


@pytest.mark.parametrize("rule_id", IDS)
def test_slack_payload_passes_slack_sdk_and_limits(rule_id: str) -> None:
    """The Block Kit JSON parses back into slack_sdk's models and stays inside Slack's limits."""
    payload = goldens.outputs(BY_ID[rule_id], RULES)[f"{rule_id}.slack.json"]
    body: dict[str, Any] = json.loads(payload)
    assert len(body["blocks"]) <= 50
    assert len(body["text"]) <= 40000
    for block in body["blocks"]:
        assert Block.parse(block) is not None
    for attachment in body["attachments"]:
        assert attachment["color"].startswith("#")
        parsed = BlockAttachment(blocks=attachment["blocks"], color=attachment["color"])
        assert parsed.to_dict()["blocks"] == attachment["blocks"]
        assert len(attachment["blocks"]) <= 50
        for block in attachment["blocks"]:
            assert len(block.get("text", {}).get("text", "")) <= SLACK_TEXT_LIMIT
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))


def test_currency_and_timezone_come_from_the_data() -> None:
    """Dollars in the CDRs and a New York account give `$` and EST: nothing is hard-coded."""
    rule = next(r for r in RULES.rules if "cost" in json.dumps(r.model_dump(mode="json")))
    zones = {"timezones": {goldens.ACCOUNT: "America/New_York"}}
    elsewhere = type(RULES)(RULES.rules, RULES.lists, RULES.settings.model_copy(update=zones))
    calls = [c.__class__(**{**{f: getattr(c, f) for f in c.__slots__}, "currency": "USD"})
             for c in goldens.made_up_calls(rule)]  # fmt: skip
    from detector.alerting.briefing import brief
    from detector.alerting.cards import Cards
    from detector.alerting.content import view
    from detector.alerting.masking import Masker
    from detector.alerting.render import plain_text

    alert = goldens.made_up_alert(rule)
    cards = Cards.of_ruleset(elsewhere)
    shown = view(alert, Masker(), cards=cards,
                 briefing=brief(alert, calls, cards.of(rule.id).scope, Masker()))  # fmt: skip
    notice = goldens.Notice("d", "r", "g", {}, [shown])
    text = plain_text(notice)
    assert "$" in text
    assert "₹" not in text
    assert "EST (" in text
    assert "IST" not in text


@pytest.mark.parametrize(
    ("rule_id", "unit", "norm"),
    [("robocall-short-answered", "times", "share"), ("no-answer-surge", "points", "share"),
     ("duration-long-calls", "times", "count"), ("flatline", "count", "count")],
)  # fmt: skip
def test_each_kind_shows_its_value_and_norm_in_their_units(
    rule_id: str, unit: str, norm: str
) -> None:
    """A shift by odds reads as a factor over a usual share, an outlier as a factor over a
    usual count of long calls, a shift by points and a flatline in their own units."""
    card = card_of(BY_ID[rule_id])
    assert (card.unit, card.norm_unit) == (unit, norm)
