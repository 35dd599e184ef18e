"""Pure renderers: one `Notice` → Slack Block Kit, plain text, Alertmanager alerts (the
email's HTML is `alerting.mail`).

Slack: a header block with the notice's title, then one attachment per alert whose `color` is
its severity (red critical, amber warning, green resolved) holding its blocks: the headline,
up to ten fact fields, destinations, sample calls, the runbook's next step, link buttons and
the silence and call-listing commands.

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

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from detector.alerting.content import AlertView, Notice
from detector.alerting.facts import (
    destination_lines,
    rows,
    sample_lines,
    value_text,
    window_text,
)

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
COLOURS = {"critical": "#D92D20", "warning": "#F79009", "info": "#2E90FA", "resolved": "#12B76A"}
"""Severity colours (Slack attachment `color`, the email's accent)."""


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
    """`₹672 (threshold ₹600)`, or `score 0.97 (threshold 0.9)` for a model."""
    return value_text(alert)


def window(alert: AlertView) -> str:
    """The window in words: `10 min`, `1 h`, `45 s`."""
    return window_text(alert)


def facts(alert: AlertView) -> list[tuple[str, str]]:
    """The (name, value) lines every channel shows for an alert, unescaped (`alerting.facts`)."""
    return rows(alert)


def heading(alert: AlertView) -> str:
    """What happened in one line: the headline, else the rule's own summary."""
    return alert.headline or alert.summary


def colour(alert: AlertView) -> str:
    """The severity colour of an alert (green once resolved)."""
    if alert.status != "firing":
        return COLOURS["resolved"]
    return COLOURS.get(alert.severity, COLOURS["info"])


# --- Slack -----------------------------------------------------------------------------------


def slack_payload(notice: Notice) -> dict[str, Any]:
    """The incoming-webhook body: a header block, then one attachment per alert with its
    severity `color` holding the alert's blocks, plus an escaped `text` fallback."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=one_line(notice.title(), 150)))]
    shown = notice.alerts[:MAX_ALERTS]
    attachments = [
        BlockAttachment(blocks=_slack_alert(a), color=colour(a)).to_dict() for a in shown
    ]
    trailer = f"delivery {mrkdwn(notice.delivery_id)}"
    if len(notice.alerts) > len(shown):
        trailer = f"…and {len(notice.alerts) - len(shown)} more alerts in this group · {trailer}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=trailer)]))
    first = shown[0] if shown else None
    title = f"{notice.title()} — {first.headline}" if first and first.headline else notice.title()
    text = mrkdwn(one_line(title, 300))
    return {"text": text, "blocks": [b.to_dict() for b in blocks], "attachments": attachments}


def _slack_alert(alert: AlertView) -> list[Block]:
    mark = "✅" if alert.status != "firing" else ("🔴" if alert.severity == "critical" else "🟠")
    state = "RESOLVED" if alert.status != "firing" else alert.severity.upper()
    head = f"{mark} *{mrkdwn(state)}* · {mrkdwn(alert.rule)}"
    text = f"{head}\n*{mrkdwn(one_line(heading(alert), 2000))}*"
    fields = [
        MarkdownTextObject(text=f"*{mrkdwn(name)}*\n{mrkdwn(one_line(value, 1900))}")
        for name, value in facts(alert)[:10]
    ]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    blocks.append(SectionBlock(fields=fields))
    for title, lines in _lists(alert):
        if lines:
            body = "\n".join(f"• {mrkdwn(one_line(line, 300))}" for line in lines)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{title}*\n{body}"[:3000])))
    if alert.runbook:
        step = f"*Next step:* {mrkdwn(one_line(alert.runbook, 2000))}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=step)))
    buttons = [
        ButtonElement(text=one_line(label, 75), url=url[:3000],
                      action_id=f"{label.lower().replace(' ', '-')}-{alert.fingerprint}"[:255])
        for label, url in _links(alert)
    ]  # fmt: skip
    if buttons:
        blocks.append(ActionsBlock(elements=buttons[:5]))
    commands = [f"{mrkdwn(label)}: `{mrkdwn(one_line(cmd, 600))}`" for label, cmd in alert.actions]
    if commands:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=c) for c in commands[:10]]))
    return blocks


def _lists(alert: AlertView) -> tuple[tuple[str, list[str]], ...]:
    return (("Destinations", destination_lines(alert)), ("Calls", sample_lines(alert)))


def _links(alert: AlertView) -> list[tuple[str, str]]:
    """The alert's links; the older single `link` when a notice has none."""
    return alert.links or ([("Open", alert.link)] if alert.link else [])


# --- plain text (email's text part, apprise, logs) -------------------------------------------


def alert_text(alert: AlertView, width: int = 500) -> list[str]:
    """One alert as plain-text lines (the email's text part and apprise)."""
    state = "RESOLVED" if alert.status != "firing" else alert.severity.upper()
    lines = [f"{state} {alert.rule}: {one_line(heading(alert), width)}"]
    lines += [f"  {name}: {one_line(value, width)}" for name, value in facts(alert)]
    for title, found in _lists(alert):
        if found:
            lines += [f"  {title}:"] + [f"    - {one_line(line, width)}" for line in found]
    if alert.runbook:
        lines += [f"  Next step: {one_line(alert.runbook, 1000)}"]
    lines += [f"  {label}: {url}" for label, url in _links(alert)]
    lines += [f"  {label}: {one_line(cmd, 600)}" for label, cmd in alert.actions]
    return lines


def plain_text(notice: Notice) -> str:
    """A compact text body: one paragraph per alert."""
    blocks = ["\n".join(alert_text(a, 300)) for a in notice.alerts[:MAX_ALERTS]]
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
            "summary": heading(alert),
            "description": "\n".join(line.strip() for line in alert_text(alert)[1:]),
            "delivery_id": alert.delivery_id,
            **({"runbook": alert.runbook} if alert.runbook else {}),
            **{label.lower().replace(" ", "_"): url for label, url in alert.links},
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
