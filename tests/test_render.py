"""Renderers: escaped Slack mrkdwn, escaped HTML email, Alertmanager payload shape."""

from __future__ import annotations

from typing import Any

from detector.alerting import render

HOSTILE = "<!channel> <http://evil.example|click> & <b>x</b>"


def alert_json(**over: Any) -> dict[str, Any]:
    """A FIRING critical alert JSON whose untrusted fields hold hostile text."""
    body: dict[str, Any] = {
        "fingerprint": "abcd",
        "delivery_id": "abcd:1717416000",
        "account": "MA_1",
        "rule": "robocall",
        "severity": "critical",
        "status": "firing",
        "at": "2024-06-03T12:00:00Z",
        "starts_at": "2024-06-03T12:00:00Z",
        "summary": f"120 short calls from {HOSTILE}",
        "value": 120.0,
        "threshold": 100.0,
        "labels": {"account": "MA_1", "from": HOSTILE},
        "evidence": {"call_ids": ["c1", "c2"], "window_s": "600", "top_destinations": HOSTILE},
        "shadow": False,
    }
    body.update(over)
    return body


def test_slack_payload_escapes_pings_and_links() -> None:
    """No `<!channel>` or `<http…|…>` survives into any Slack text; escaped forms do."""
    payload = render.slack_payload(alert_json())
    parts = [
        [b.get("text") or {}, *b.get("fields", []), *b.get("elements", [])]
        for b in payload["blocks"]
    ]
    texts = [payload["text"]] + [t["text"] for part in parts for t in part if t]
    assert texts
    assert all("<!channel>" not in t and "<http://" not in t for t in texts)
    assert any("&lt;!channel&gt;" in t for t in texts)


def test_slack_payload_shows_the_facts() -> None:
    """Rule, severity, account, value vs threshold, window and call ids are in the blocks."""
    fields = " ".join(f["text"] for f in render.slack_payload(alert_json())["blocks"][1]["fields"])
    for expected in ("robocall", "critical", "MA_1", "120 (threshold 100)", "600 s", "c1, c2"):
        assert expected in fields


def test_email_subject_and_escaped_html() -> None:
    """The subject reads `[CRITICAL] rule — account`; the HTML has no raw untrusted tags."""
    assert render.email_subject(alert_json()) == "[CRITICAL] robocall — MA_1"
    html = render.email_html(alert_json())
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_subject_cannot_inject_headers() -> None:
    """Line breaks in an untrusted account id do not reach the subject line."""
    subject = render.email_subject(alert_json(account="MA_1\r\nBcc: x@example.com"))
    assert "\n" not in subject
    assert "\r" not in subject


def test_resolved_title() -> None:
    """A resolved alert is titled RESOLVED rather than by severity."""
    assert render.title(alert_json(status="resolved")).startswith("[RESOLVED]")


def test_alertmanager_payload() -> None:
    """Labels carry alertname/account/severity; firing ends later, resolved ends at its time."""
    [firing] = render.alertmanager_payload(alert_json(), hold_s=3600, generator_url="http://x/")
    assert firing["labels"]["alertname"] == "robocall"
    assert (firing["labels"]["account"], firing["labels"]["severity"]) == ("MA_1", "critical")
    assert (firing["startsAt"], firing["endsAt"]) == (
        "2024-06-03T12:00:00Z",
        "2024-06-03T13:00:00Z",
    )
    assert firing["generatorURL"] == "http://x/"
    [resolved] = render.alertmanager_payload(
        alert_json(status="resolved", at="2024-06-03T12:30:00Z")
    )
    assert resolved["endsAt"] == "2024-06-03T12:30:00Z"


def test_alertmanager_label_names_are_valid() -> None:
    """Label keys that Alertmanager would reject are rewritten to valid names."""
    [body] = render.alertmanager_payload(alert_json(labels={"dest-country": "GB", "1x": "y"}))
    assert {"dest_country", "_1x"} <= set(body["labels"])
