"""Pure renderers: an alert's JSON (`Alert.to_json()`) → Slack, email and Alertmanager payloads.

Every value that can come from a CDR or a rule (account, caller ids, destinations, summaries)
is untrusted: it is escaped for the target format (Slack mrkdwn: ``&``, ``<``, ``>``; HTML:
`html.escape`) and stripped of line breaks where it lands in a header. Each view shows rule,
severity, status, account, value vs threshold, window and evidence (call ids, other details
such as top destinations), trimmed to a few items.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

MAX_ITEMS = 5
_LABEL_NAME = re.compile(r"[^A-Za-z0-9_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

AlertJson = Mapping[str, Any]


def mrkdwn(text: object) -> str:
    """Escape untrusted text for Slack mrkdwn so it cannot ping, link or format as markup.

    >>> mrkdwn("<!channel> & <http://evil|click>")
    '&lt;!channel&gt; &amp; &lt;http://evil|click&gt;'
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: object, limit: int = 200) -> str:
    """Untrusted text on a single line (control characters folded to spaces), trimmed.

    >>> one_line("a\\r\\nBcc: x@example.com")
    'a Bcc: x@example.com'
    """
    return _CONTROL.sub(" ", str(text))[:limit]


def number(value: object) -> str:
    """A compact number for people: integers without decimals, others to 3 significant digits.

    >>> number(12.0), number(0.12345), number("n/a")
    ('12', '0.123', 'n/a')
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.3g}" if value != int(value) or abs(value) >= 1e15 else str(int(value))


def title(alert: AlertJson) -> str:
    """`[CRITICAL] rule — account` (or `[RESOLVED] …`), on one line."""
    tag = (
        "RESOLVED" if alert.get("status") == "resolved" else str(alert.get("severity", "")).upper()
    )
    return one_line(f"[{tag}] {alert.get('rule', '')} — {alert.get('account', '')}")


def facts(alert: AlertJson) -> list[tuple[str, str]]:
    """The (name, value) lines every view shows, unescaped; callers escape for their format."""
    evidence = dict(alert.get("evidence") or {})
    window = evidence.pop("window_s", None)
    call_ids = [str(c) for c in evidence.pop("call_ids", [])][:MAX_ITEMS]
    rows = [
        ("Rule", str(alert.get("rule", ""))),
        ("Severity", str(alert.get("severity", ""))),
        ("Status", str(alert.get("status", ""))),
        ("Account", str(alert.get("account", ""))),
        ("Value", f"{number(alert.get('value'))} (threshold {number(alert.get('threshold'))})"),
    ]
    if window is not None:
        rows.append(("Window", f"{window} s"))
    rows.append(("Since", str(alert.get("starts_at", ""))))
    if call_ids:
        rows.append(("Calls", ", ".join(call_ids)))
    for key, value in sorted(evidence.items())[:MAX_ITEMS]:
        rows.append((key.replace("_", " ").capitalize(), _short(value)))
    return rows


def _short(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value[:MAX_ITEMS])
    return str(value)[:300]


def slack_payload(alert: AlertJson) -> dict[str, Any]:
    """An incoming-webhook body: Block Kit blocks plus a plain `text` fallback, all escaped."""
    head = mrkdwn(title(alert))
    summary = mrkdwn(one_line(alert.get("summary", ""), 500))
    fields = [
        {"type": "mrkdwn", "text": f"*{name}*\n{mrkdwn(value)}"} for name, value in facts(alert)
    ]
    return {
        "text": f"{head}: {summary}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n{summary}"}},
            {"type": "section", "fields": fields[:10]},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"delivery {mrkdwn(alert.get('delivery_id', ''))}"}
                ],
            },
        ],
    }


def email_subject(alert: AlertJson) -> str:
    """`[CRITICAL] rule — account`: one line, safe as a header value."""
    return title(alert)


def email_text(alert: AlertJson) -> str:
    """The plain-text part of the email."""
    lines = [title(alert), "", one_line(alert.get("summary", ""), 500), ""]
    lines += [f"{name}: {one_line(value, 500)}" for name, value in facts(alert)]
    lines += ["", f"Delivery id: {one_line(alert.get('delivery_id', ''))}"]
    return "\n".join(lines) + "\n"


def email_html(alert: AlertJson) -> str:
    """The HTML part of the email; every value is HTML-escaped."""
    esc = html.escape
    rows = "".join(
        f'<tr><th align="left">{esc(name)}</th><td>{esc(value)}</td></tr>'
        for name, value in facts(alert)
    )
    return (
        "<html><body>"
        f"<h2>{esc(title(alert))}</h2>"
        f"<p>{esc(str(alert.get('summary', '')))}</p>"
        f"<table>{rows}</table>"
        f"<p><small>Delivery id: {esc(str(alert.get('delivery_id', '')))}</small></p>"
        "</body></html>"
    )


def alertmanager_payload(
    alert: AlertJson, *, hold_s: float = 86400.0, generator_url: str | None = None
) -> list[dict[str, Any]]:
    """The `/api/v2/alerts` body: one alert with labels, annotations, startsAt and endsAt.

    A FIRING alert gets `endsAt` = its time + `hold_s`, so Alertmanager keeps it firing until
    our RESOLVED arrives (which sets `endsAt` to the resolution time) instead of timing it out.
    """
    labels = {_label_name(k): str(v) for k, v in dict(alert.get("labels") or {}).items()}
    labels.update(
        alertname=str(alert.get("rule", "")),
        account=str(alert.get("account", "")),
        severity=str(alert.get("severity", "")),
    )
    at = str(alert.get("at", ""))
    ends = at if alert.get("status") == "resolved" else _plus(at, hold_s)
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": {
            "summary": str(alert.get("summary", "")),
            "description": "\n".join(f"{n}: {v}" for n, v in facts(alert)),
            "delivery_id": str(alert.get("delivery_id", "")),
        },
        "startsAt": str(alert.get("starts_at", at)),
        "endsAt": ends,
    }
    if generator_url:
        body["generatorURL"] = generator_url
    return [body]


def _label_name(key: object) -> str:
    name = _LABEL_NAME.sub("_", str(key)) or "_"
    return f"_{name}" if name[0].isdigit() else name


def _plus(stamp: str, seconds: float) -> str:
    start = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
