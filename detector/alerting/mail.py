"""The email of a notice: subject, plain-text part and a responsive HTML part.

The HTML is one centred column (at most 600 px, full width on a phone) of tables with inline
CSS only, since many mail clients drop `<style>`; a small `<style>` adds dark-mode colours for
the clients that honour `prefers-color-scheme` (the inline colours already read on dark
backgrounds that invert them). Each alert is a card with its severity colour as a left rule:
the headline, the facts, destinations, sample calls, the chart (`cid:` image, attached by the
email notifier), the next step, link buttons and the silence and call-listing commands.
Every value is `html.escape`d; header values are folded to one line.
"""

from __future__ import annotations

import html

from detector.alerting.content import AlertView, Notice
from detector.alerting.facts import destination_lines, sample_lines
from detector.alerting.render import (
    MAX_ALERTS,
    _links,
    alert_text,
    colour,
    facts,
    heading,
    one_line,
)

FONT = "-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif"
DARK = (
    "@media (prefers-color-scheme: dark){.card{background:#1f2328!important;color:#e6edf3"
    "!important}.muted{color:#9da7b3!important}.body{background:#0d1117!important}"
    ".cmd{background:#2d333b!important;color:#e6edf3!important}}"
)


def email_subject(notice: Notice) -> str:
    """The notice's title and its first headline on one line, safe as a header value."""
    first = notice.alerts[0] if notice.alerts else None
    subject = f"{notice.title()} — {heading(first)}" if first and first.headline else notice.title()
    return one_line(subject, 200)


def email_text(notice: Notice) -> str:
    """The plain-text part."""
    lines = [one_line(notice.title(), 300), ""]
    for alert in notice.alerts[:MAX_ALERTS]:
        lines += [*alert_text(alert), ""]
    if len(notice.alerts) > MAX_ALERTS:
        lines += [f"…and {len(notice.alerts) - MAX_ALERTS} more alerts in this group", ""]
    lines += [f"Delivery id: {one_line(notice.delivery_id)}"]
    return "\n".join(lines) + "\n"


def chart_cid(alert: AlertView) -> str:
    """The Content-ID of an alert's chart image."""
    return f"chart-{alert.fingerprint}@cdr-detector"


def has_chart(alert: AlertView) -> bool:
    """True when the alert's briefing carries a series to draw."""
    return alert.briefing is not None and alert.briefing.series is not None


def email_html(notice: Notice, charts: frozenset[str] | None = None) -> str:
    """The HTML part; every value is HTML-escaped. `charts`: the Content-IDs of the chart
    images attached (None: every alert with a series gets its `cid:` image)."""
    esc = html.escape
    cards = "".join(_card(a, charts) for a in notice.alerts[:MAX_ALERTS])
    more = ""
    if len(notice.alerts) > MAX_ALERTS:
        more = _p(f"…and {len(notice.alerts) - MAX_ALERTS} more alerts in this group", muted=True)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f'<meta name="supported-color-schemes" content="light dark"><style>{DARK}</style>'
        f"<title>{esc(notice.title())}</title></head>"
        f'<body class="body" style="margin:0;padding:0;background:#f3f4f6;font-family:{FONT}">'
        '<table role="presentation" class="body" width="100%" cellpadding="0" cellspacing="0" '
        'style="background:#f3f4f6"><tr><td align="center" style="padding:12px 8px">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:600px;width:100%">'
        f'<tr><td style="padding:4px 4px 12px 4px;font-size:13px;color:#57606a" class="muted">'
        f"{esc(notice.title())}</td></tr>{cards}"
        f'<tr><td style="padding:8px 4px">{more}'
        f"{_p('Delivery id: ' + notice.delivery_id, muted=True)}</td></tr>"
        "</table></td></tr></table></body></html>"
    )


def _card(alert: AlertView, charts: frozenset[str] | None) -> str:
    esc = html.escape
    state = "RESOLVED" if alert.status != "firing" else alert.severity.upper()
    accent = colour(alert)
    rows = "".join(
        f'<tr><td valign="top" class="muted" style="padding:3px 12px 3px 0;color:#57606a;'
        f'font-size:13px;white-space:nowrap">{esc(n)}</td><td style="padding:3px 0;'
        f'font-size:14px;word-break:break-word">{esc(one_line(v, 500))}</td></tr>'
        for n, v in facts(alert)
    )
    parts = [
        f'<div style="font-size:12px;font-weight:700;letter-spacing:.05em;color:{accent}">'
        f"{esc(state)} · {esc(alert.rule)}</div>",
        f'<h1 style="margin:6px 0 12px 0;font-size:20px;line-height:1.3;font-weight:700">'
        f"{esc(heading(alert))}</h1>",
        f'<table role="presentation" cellpadding="0" cellspacing="0" width="100%">{rows}</table>',
        _list("Destinations", destination_lines(alert)),
        _list("Calls", sample_lines(alert)),
    ]
    if has_chart(alert) and (charts is None or chart_cid(alert) in charts):
        parts.append(
            f'<img src="cid:{esc(chart_cid(alert))}" '
            f'alt="{esc(alert.rule)}: last {_hours(alert)} hours" '
            'width="560" style="display:block;width:100%;max-width:560px;height:auto;'
            'margin:12px 0;border-radius:4px">'
        )
    if alert.runbook:
        parts.append(
            '<div style="margin:12px 0;padding:10px 12px;border-radius:4px;background:#fff8e6;'
            'color:#3b2f00;font-size:14px"><b>Next step:</b> '
            f"{esc(alert.runbook)}</div>"
        )
    parts.append("".join(_button(label, url, accent) for label, url in _links(alert)))
    parts += [
        f'<div class="muted" style="margin-top:8px;font-size:12px;color:#57606a">{esc(label)}:'
        f'<div class="cmd" style="font-family:Menlo,Consolas,monospace;font-size:12px;'
        f"background:#f6f8fa;color:#24292f;padding:6px 8px;border-radius:4px;"
        f'word-break:break-all">{esc(one_line(cmd, 600))}</div></div>'
        for label, cmd in alert.actions
    ]
    return (
        '<tr><td class="card" style="background:#ffffff;color:#24292f;border-radius:6px;'
        f'border-left:6px solid {accent};padding:16px 18px">{"".join(parts)}</td></tr>'
        '<tr><td style="height:12px;line-height:12px;font-size:0">&nbsp;</td></tr>'
    )


def _list(title: str, lines: list[str]) -> str:
    if not lines:
        return ""
    esc = html.escape
    items = "".join(f'<li style="margin:2px 0">{esc(one_line(x, 300))}</li>' for x in lines)
    head = f'<div style="margin-top:12px;font-size:13px;font-weight:700">{esc(title)}</div>'
    return f'{head}<ul style="margin:4px 0 0 0;padding-left:18px;font-size:13px">{items}</ul>'


def _button(label: str, url: str, accent: str) -> str:
    esc = html.escape
    return (
        f'<a href="{esc(url)}" style="display:inline-block;margin:12px 8px 0 0;padding:8px 14px;'
        f"border-radius:4px;background:{accent};color:#ffffff;text-decoration:none;"
        f'font-size:14px;font-weight:600">{esc(label)}</a>'
    )


def _p(text: str, muted: bool = False) -> str:
    style = "color:#57606a;font-size:12px" if muted else "font-size:14px"
    return f'<p class="muted" style="margin:4px 0;{style}">{html.escape(text)}</p>'


def _hours(alert: AlertView) -> int:
    series = alert.briefing.series if alert.briefing is not None else None
    return series.hours if series is not None else 24
