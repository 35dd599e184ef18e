"""Renderers from the one content model: complete Slack mrkdwn escaping, masked numbers, escaped
HTML email, the Alertmanager payload (escalation and resolution of every severity)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from detector.alerting import mail, render
from detector.alerting.content import CallDetail, Notice
from detector.alerting.grouping import Message
from detector.alerting.masking import Masker
from detector.alerting.notification import NoticeMaker
from detector.alerting.settings import LinkSettings

HOSTILE = "<!channel> <http://evil.example|click> & <b>x</b>"
NUMBER = "+919812345321"


def alert_json(**over: Any) -> dict[str, Any]:
    """A FIRING critical alert JSON whose untrusted fields hold hostile text and a number."""
    body: dict[str, Any] = {
        "fingerprint": "abcd",
        "delivery_id": "abcd:1717416000",
        "account": "MA_1",
        "rule": "robocall",
        "severity": "critical",
        "status": "firing",
        "at": "2024-06-03T12:00:00Z",
        "starts_at": "2024-06-03T12:00:00Z",
        "summary": f"120 short calls from {NUMBER} {HOSTILE}",
        "value": 120.0,
        "threshold": 100.0,
        "labels": {"account": "MA_1", "from": NUMBER, "team": "fraud"},
        "evidence": {
            "call_ids": ["c1", "c2"], "window_s": "600", "top_destinations": f"{NUMBER} ×12",
        },
        "shadow": False,
    }  # fmt: skip
    body.update(over)
    return body


def notice(*alerts: dict[str, Any], masker: Masker | None = None, **make: Any) -> Notice:
    """The notice the stage would build for a group holding `alerts` (default: one)."""
    maker = NoticeMaker(masker or Masker(), LinkSettings(), "http://127.0.0.1:9108", **make)
    message = Message("grp:1", "grp", "slack", {"account": "MA_1"}, list(alerts or [alert_json()]))
    return maker(message)


def notice_json(*alerts: dict[str, Any], **make: Any) -> dict[str, Any]:
    """The outbox payload for that notice."""
    return notice(*alerts, **make).to_json()


SPECIALS = [
    ("<!channel>", "<"), ("<!here|here>", "<"), ("<@U123>", "<"), ("<#C123>", "<"),
    ("<http://evil|click>", "<"), ("a > b", ">"), ("> quote", ">"),
    ("*bold*", "*"), ("_italic_", "_i"), ("~strike~", "~"), ("`code`", "`"),
    ("```block```", "`"), (":fire:", ":fire:"), ("@channel", "@channel"), ("@here", "@here"),
    ("@everyone", "@everyone"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "forbidden"), SPECIALS)
def test_mrkdwn_neutralises_every_special_sequence(text: str, forbidden: str) -> None:
    """No sequence Slack would turn into a ping, link, quote, emoji or formatting survives."""
    out = render.mrkdwn(f"x {text} y")
    assert forbidden not in out
    assert not re.search(r"(?<!&amp;)&(?!amp;|lt;|gt;)", out), "a bare & would start an entity"


def test_mrkdwn_shows_entities_literally() -> None:
    """Text that already looks like an entity is shown as typed, not decoded."""
    assert render.mrkdwn("&lt;!channel&gt; &amp;") == "&amp;lt;!channel&amp;gt; &amp;amp;"


def test_mrkdwn_keeps_ordinary_identifiers() -> None:
    """Underscores inside words (account ids), digits, plus signs and hyphens are untouched."""
    assert render.mrkdwn("MA_1 call-42 +4479 rule-x") == "MA_1 call-42 +4479 rule-x"


def test_slack_blocks_hold_no_raw_untrusted_text() -> None:
    """Every text object of the Block Kit payload is escaped: no ping, link or tag survives."""
    payload = render.slack_payload(notice())
    texts = [payload["text"], *_texts(payload["blocks"]), *_texts(payload["attachments"])]
    assert texts
    for text in texts:
        assert "<!channel>" not in text
        assert "<http://" not in text
        assert "<b>" not in text


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


def test_slack_blocks_show_the_facts() -> None:
    """What fired, account, value vs threshold, window, top destinations, calls and a link."""
    detail = CallDetail("c1", "NORMAL_CLEARING", 200, "OK")
    enricher = type("E", (), {"details": lambda self, fp: [detail], "submit": lambda *a: True})()
    payload = render.slack_payload(notice(enricher=enricher))
    text = " ".join(_texts(payload["blocks"]) + _texts(payload["attachments"]))
    for expected in ("CRITICAL", "robocall", "MA_1", "120 (threshold 100)", "10 min",
                     "+9198•••••321 ×12", "id c1 (NORMAL_CLEARING SIP 200)", "id c2"):  # fmt: skip
        assert expected in text, expected
    [attachment] = payload["attachments"]
    assert attachment["color"] == render.COLOURS["critical"]
    [button] = next(b for b in attachment["blocks"] if b["type"] == "actions")["elements"]
    assert button["url"] == "http://127.0.0.1:9108/api/alerts/abcd"


def test_a_big_group_stays_within_slack_limits() -> None:
    """A group of 40 alerts renders (slack_sdk validates the limits) and counts the rest."""
    alerts = [alert_json(fingerprint=f"f{i}", delivery_id=f"f{i}:1", account=f"MA_{i}")
              for i in range(40)]  # fmt: skip
    payload = render.slack_payload(notice(*alerts))
    assert len(payload["blocks"]) <= 50
    assert "…and 32 more alerts in this group" in " ".join(_texts(payload["blocks"]))


def test_numbers_are_masked_everywhere_but_call_ids_are_not() -> None:
    """The full number appears in no channel; call ids and the delivery id stay intact."""
    n = notice()
    rendered = [
        str(render.slack_payload(n)), mail.email_text(n), mail.email_html(n),
        render.plain_text(n), str(n.to_json()),
        str(render.alertmanager_alerts(n, datetime(2024, 6, 3, 12, 5, tzinfo=UTC),
                                       ends_after_s=3600)),
    ]  # fmt: skip
    for text in rendered:
        assert NUMBER not in text
        assert "+9198•••••321" in text
        assert "c1" in text
    assert n.alerts[0].labels["from"] == "+9198•••••321"


def test_masking_can_be_turned_off() -> None:
    """With masking disabled the number is shown in clear."""
    assert NUMBER in mail.email_text(notice(masker=Masker(enabled=False)))


def test_email_subject_and_escaped_html() -> None:
    """The subject is the notice's title; the HTML has no raw untrusted tags."""
    n = notice()
    assert mail.email_subject(n) == "[CRITICAL] MA_1: robocall"
    html = mail.email_html(n)
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_subject_cannot_inject_headers() -> None:
    """Line breaks in an untrusted account id do not reach the subject line."""
    subject = mail.email_subject(notice(alert_json(account="MA_1\r\nBcc: x@example.com")))
    assert "\n" not in subject
    assert "\r" not in subject


def test_titles_count_rules_accounts_and_resolutions() -> None:
    """A group's title names its worst severity, account and rules; all resolved says so."""
    fired = alert_json()
    other = alert_json(fingerprint="efgh", delivery_id="efgh:1", rule="wangiri", severity="warning")
    ended = alert_json(fingerprint="ijkl", delivery_id="ijkl:1", status="resolved")
    assert notice(fired, other, ended).title() == "[CRITICAL] MA_1: robocall (+1 more), 1 resolved"
    assert notice(ended).title() == "[RESOLVED] MA_1: robocall"


def test_a_notice_survives_its_json() -> None:
    """The outbox payload parses back into the same notice."""
    n = notice()
    assert Notice.from_json(n.to_json()) == n


NOW = datetime(2024, 6, 3, 12, 5, tzinfo=UTC)


def test_alertmanager_firing_ends_later_and_names_the_alert() -> None:
    """A firing critical posts critical firing plus info and warning resolved, endsAt ahead."""
    alerts = render.alertmanager_alerts(notice(), NOW, ends_after_s=3600,
                                        static_labels={"env": "prod"})  # fmt: skip
    by_severity = {a["labels"]["severity"]: a for a in alerts}
    firing = by_severity["critical"]
    assert firing["labels"]["alertname"] == "robocall"
    assert (firing["labels"]["account"], firing["labels"]["env"]) == ("MA_1", "prod")
    assert firing["startsAt"] == "2024-06-03T12:00:00.000000Z"
    assert firing["endsAt"] == "2024-06-03T13:05:00.000000Z"
    assert firing["generatorURL"] == "http://127.0.0.1:9108/api/alerts/abcd"
    for lower in ("info", "warning"):
        assert by_severity[lower]["endsAt"] == "2024-06-03T12:05:00.000000Z"


def test_alertmanager_resolution_ends_every_severity_now() -> None:
    """A resolved critical ends its critical, warning and info copies at once."""
    alerts = render.alertmanager_alerts(notice(alert_json(status="resolved")), NOW,
                                        ends_after_s=3600)  # fmt: skip
    assert sorted(a["labels"]["severity"] for a in alerts) == ["critical", "info", "warning"]
    assert {a["endsAt"] for a in alerts} == {"2024-06-03T12:05:00.000000Z"}


def test_alertmanager_label_names_are_valid() -> None:
    """Label keys that Alertmanager would reject are rewritten to valid names."""
    alerts = render.alertmanager_alerts(
        notice(alert_json(labels={"dest-country": "GB", "1x": "y"})), NOW, ends_after_s=60
    )
    assert {"dest_country", "_1x"} <= set(alerts[-1]["labels"])


def test_headlines_and_runbooks_are_escaped_in_every_channel() -> None:
    """A headline filled with hostile CDR text and a runbook with markup stay inert."""
    from detector.alerting.cards import Cards, RuleCard

    cards = Cards({"robocall": RuleCard("{account} called {from}", "<b>run</b> *now* <!here>")})
    n = notice(alert_json(account="MA_<i>1</i>"), cards=lambda: cards)
    assert n.alerts[0].headline == "MA_<i>1</i> called +9198•••••321"
    payload = render.slack_payload(n)
    slack = str([payload["text"], payload["attachments"]])  # the header is plain_text: literal
    assert "<i>" not in slack
    assert "<!here>" not in slack
    assert "*now*" not in slack
    html = mail.email_html(n)
    assert "<i>1</i>" not in html
    assert "&lt;b&gt;run&lt;/b&gt;" in html


def test_a_full_briefing_queue_skips_without_waiting() -> None:
    """The notification stage never waits on the briefer: a full queue refuses at once."""
    from detector.alerting.briefer import Briefer
    from detector.alerting.briefing import Scope

    briefer = Briefer(lambda a, s, u: [], lambda rule: Scope(), Masker(), queue_size=1)
    assert briefer.submit(alert_json())
    assert not briefer.submit(alert_json(fingerprint="other"))
