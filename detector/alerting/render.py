"""Pure renderers: one `Notice` → Slack Block Kit, email, Alertmanager alerts, plain text.

Every value that can come from a CDR or a rule (accounts, caller ids, destinations, summaries,
label values) is untrusted. For Slack it goes through `mrkdwn`, which escapes `&`, `<` and `>`
(so nothing can ping, link or quote) and replaces the characters that format text (`*`, `~`,
backticks, underscores at a word's edge, `:emoji:` colons, `@channel`-style words) by
look-alikes that Slack does not interpret (Slack has no escape for them; an underscore inside a
word such as `MA_1` formats nothing and is kept); headers are `plain_text`. For email, HTML is
`html.escape`d and header values are folded to one line. Blocks are built with `slack_sdk`'s
models, which check Slack's limits (10 fields, 150-character headers, 50 blocks).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from detector.alerting.content import AlertView, Notice

MAX_ALERTS = 8
"""Alerts shown in one Slack message or email; the rest are counted."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_LABEL_NAME = re.compile(r"[^A-Za-z0-9_]")
_EMOJI = re.compile(r":([A-Za-z0-9_+\-']+):")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone|group)\b)", re.IGNORECASE)
_LOOKALIKES = str.maketrans({"*": "∗", "~": "∼", "`": "ˋ"})
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
"""Underscores that can open or close italics; inside a word (`MA_1`) they cannot."""
SEVERITY_ORDER = ("info", "warning", "critical")


def mrkdwn(text: object) -> str:
    """Untrusted text made inert for Slack mrkdwn: no pings, links, quotes or formatting.

    >>> mrkdwn("<!channel> & <http://evil|click> *bold* _it_ ~st~ `code` :fire: @here MA_1")
    '&lt;!channel&gt; &amp; &lt;http://evil|click&gt; ∗bold∗ ˍitˍ ∼st∼ ˋcodeˋ ꞉fire꞉ ＠here MA_1'
    """
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _EDGE_UNDERSCORE.sub("ˍ", out.translate(_LOOKALIKES))
    out = _EMOJI.sub(lambda m: f"꞉{m.group(1)}꞉", out)
    return _BROADCAST.sub("＠", out)


def one_line(text: object, limit: int = 200) -> str:
    """Untrusted text on a single line (control characters folded to spaces), trimmed.

    >>> one_line("a\\r\\nBcc: x@example.com")
    'a Bcc: x@example.com'
    """
    return _CONTROL.sub(" ", str(text))[:limit]


def number(value: object) -> str:
    """A compact number for people: integers without decimals, others to 3 significant digits.

    >>> number(12.0), number(0.12345), number("n/a"), number(None)
    ('12', '0.123', 'n/a', '–')
    """
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.3g}" if value != int(value) or abs(value) >= 1e15 else str(int(value))


def measure(alert: AlertView) -> str:
    """`120 (threshold 100)`, or `score 0.97 (threshold 0.9)` for a model."""
    lead = "score " if alert.is_model else ""
    return f"{lead}{number(alert.value)} (threshold {number(alert.threshold)})"


def window(alert: AlertView) -> str:
    """The window in words: `10 min`, `1 h`, `45 s`."""
    if alert.window_s is None:
        return "–"
    seconds = alert.window_s
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def calls(alert: AlertView) -> str:
    """Sample call ids, each with its hangup cause and SIP code when enrichment found them."""
    found = {c.call_id: c for c in alert.calls}
    parts = []
    for call_id in alert.call_ids:
        detail = found.get(call_id)
        if detail is None:
            parts.append(call_id)
            continue
        sip = f" SIP {detail.sip_code}" if detail.sip_code is not None else ""
        parts.append(f"{call_id} ({detail.hangup_cause or 'no cause'}{sip})")
    return ", ".join(parts)


def facts(alert: AlertView) -> list[tuple[str, str]]:
    """The (name, value) lines every channel shows for an alert, unescaped."""
    rows = [
        ("Account", alert.account),
        ("Score" if alert.is_model else "Value", measure(alert)),
        ("Window", window(alert)),
        ("Since", alert.since),
        ("Status", alert.status),
    ]
    if alert.destinations:
        rows.append(("Top destinations", alert.destinations))
    if alert.call_ids:
        rows.append(("Calls", calls(alert)))
    rows += [(k.replace("_", " ").capitalize(), v) for k, v in alert.details[:3]]
    return rows


# --- Slack -----------------------------------------------------------------------------------


def slack_payload(notice: Notice) -> dict[str, Any]:
    """The incoming-webhook body: Block Kit blocks plus an escaped `text` fallback."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=one_line(notice.title(), 150)))]
    shown = notice.alerts[:MAX_ALERTS]
    for alert in shown:
        blocks += _slack_alert(alert)
    if len(notice.alerts) > len(shown):
        more = f"…and {len(notice.alerts) - len(shown)} more alerts in this group"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=f"delivery {mrkdwn(notice.delivery_id)}")])
    )
    return {
        "text": mrkdwn(one_line(notice.title(), 300)),
        "blocks": [b.to_dict() for b in blocks],
    }


def _slack_alert(alert: AlertView) -> list[Block]:
    mark = "✅" if alert.status != "firing" else ("🔴" if alert.severity == "critical" else "🟠")
    head = f"{mark} *{mrkdwn(alert.severity.upper())}* {mrkdwn(alert.rule)}"
    text = f"{head}\n{mrkdwn(one_line(alert.summary, 2500))}"
    fields = [
        MarkdownTextObject(text=f"*{name}*\n{mrkdwn(one_line(value, 1900))}")
        for name, value in facts(alert)[:10]
    ]
    blocks: list[Block] = [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=text))]
    blocks.append(SectionBlock(fields=fields))
    if alert.link:
        button = ButtonElement(
            text="Open", url=alert.link[:3000], action_id=f"open-{alert.fingerprint}"[:255]
        )
        blocks.append(ActionsBlock(elements=[button]))
    return blocks


# --- email -----------------------------------------------------------------------------------


def email_subject(notice: Notice) -> str:
    """The notice's title on one line, safe as a header value."""
    return one_line(notice.title(), 200)


def email_text(notice: Notice) -> str:
    """The plain-text part."""
    lines = [one_line(notice.title(), 300), ""]
    for alert in notice.alerts[:MAX_ALERTS]:
        lines += [f"{alert.severity.upper()} {alert.rule} ({alert.status})"]
        lines += [f"  {one_line(alert.summary, 500)}"]
        lines += [f"  {name}: {one_line(value, 500)}" for name, value in facts(alert)]
        if alert.link:
            lines += [f"  Link: {alert.link}"]
        lines += [""]
    if len(notice.alerts) > MAX_ALERTS:
        lines += [f"…and {len(notice.alerts) - MAX_ALERTS} more alerts in this group", ""]
    lines += [f"Delivery id: {one_line(notice.delivery_id)}"]
    return "\n".join(lines) + "\n"


def email_html(notice: Notice) -> str:
    """The HTML part; every value is HTML-escaped."""
    esc = html.escape
    parts = [f"<html><body><h2>{esc(notice.title())}</h2>"]
    for alert in notice.alerts[:MAX_ALERTS]:
        rows = "".join(
            f'<tr><th align="left">{esc(n)}</th><td>{esc(v)}</td></tr>' for n, v in facts(alert)
        )
        link = f'<p><a href="{esc(alert.link)}">Open</a></p>' if alert.link else ""
        parts.append(
            f"<h3>{esc(alert.severity.upper())} {esc(alert.rule)} ({esc(alert.status)})</h3>"
            f"<p>{esc(alert.summary)}</p><table>{rows}</table>{link}"
        )
    if len(notice.alerts) > MAX_ALERTS:
        parts.append(f"<p>…and {len(notice.alerts) - MAX_ALERTS} more alerts in this group</p>")
    parts.append(f"<p><small>Delivery id: {esc(notice.delivery_id)}</small></p></body></html>")
    return "".join(parts)


# --- plain text (apprise, logs) --------------------------------------------------------------


def plain_text(notice: Notice) -> str:
    """A compact text body: one paragraph per alert."""
    blocks = []
    for alert in notice.alerts[:MAX_ALERTS]:
        body = "; ".join(f"{n}: {one_line(v, 300)}" for n, v in facts(alert))
        link = f"\n{alert.link}" if alert.link else ""
        blocks.append(f"{alert.severity.upper()} {alert.rule}: {one_line(alert.summary, 500)}\n"
                      f"{body}{link}")  # fmt: skip
    if len(notice.alerts) > MAX_ALERTS:
        blocks.append(f"…and {len(notice.alerts) - MAX_ALERTS} more alerts in this group")
    return "\n\n".join(blocks)


# --- Alertmanager ----------------------------------------------------------------------------


def alertmanager_alerts(
    notice: Notice,
    now: datetime,
    *,
    ends_after_s: float,
    static_labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The `/api/v2/alerts` body for a notice.

    One Alertmanager alert per (rule, account, labels): a firing alert ends `ends_after_s`
    from now (the notification stage posts it again before that while it fires); a resolved
    one ends now. Severity is a label, and Alertmanager tells alerts apart by their labels, so
    an escalation also resolves the lower severities, and a resolution resolves every severity
    up to the alert's: no warning copy stays active after a critical one resolved.
    """
    out: list[dict[str, Any]] = []
    for alert in notice.alerts:
        firing = alert.status == "firing"
        rank = SEVERITY_ORDER.index(alert.severity) if alert.severity in SEVERITY_ORDER else 2
        for lower in SEVERITY_ORDER[:rank]:
            out.append(_am_alert(alert, lower, False, now, ends_after_s, static_labels))
        out.append(_am_alert(alert, alert.severity, firing, now, ends_after_s, static_labels))
    return out


def _am_alert(
    alert: AlertView,
    severity: str,
    firing: bool,
    now: datetime,
    ends_after_s: float,
    static_labels: Mapping[str, str] | None,
) -> dict[str, Any]:
    labels = {_label_name(k): str(v) for k, v in alert.labels.items()}
    labels.update({_label_name(k): str(v) for k, v in (static_labels or {}).items()})
    labels.update(alertname=alert.rule, account=alert.account, severity=severity)
    starts = min(_parse(alert.since) or now, now)
    ends = now + timedelta(seconds=ends_after_s) if firing else now
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": {
            "summary": alert.summary,
            "description": "\n".join(f"{n}: {v}" for n, v in facts(alert)),
            "delivery_id": alert.delivery_id,
        },
        "startsAt": _stamp(starts),
        "endsAt": _stamp(max(ends, starts)),
    }
    if alert.link:
        body["generatorURL"] = alert.link
    return body


def _label_name(key: object) -> str:
    name = _LABEL_NAME.sub("_", str(key)) or "_"
    return f"_{name}" if name[0].isdigit() else name


def _parse(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
