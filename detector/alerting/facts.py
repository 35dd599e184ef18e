"""The facts every channel shows for one alert, from its `AlertView` (text, not yet escaped).

One place decides the words, so Slack, email, the plain-text part, apprise and the log line
never drift: `rows` are the (name, value) facts in reading order (value against threshold,
the account's norm, when in the account's time with UTC beside it, for a resolved alert how
long it lasted and what it cost, the share of the account's traffic, first and last call);
`destination_lines` the calls grouped by country and number type; `sample_lines` a few calls
(masked numbers, call ids, hangup cause and SIP code when enrichment found them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from detector.alerting.briefing import Briefing
from detector.alerting.cards import Unit, show
from detector.alerting.content import AlertView, CallDetail
from detector.alerting.wording import (
    clock,
    country,
    duration,
    money,
    number_type,
    parse_utc,
    percent,
)


def value_text(alert: AlertView) -> str:
    """`₹672 (threshold ₹600)`, or `score 9.1 (threshold 6.5)` for a model."""
    if alert.is_model:
        score, threshold = show(alert.value, "count", ""), show(alert.threshold, "count", "")
        return f"score {score} (threshold {threshold})"
    unit = cast(Unit, alert.unit)
    mark = "×" if unit == "times" else ""
    value = show(alert.value, unit, alert.currency)
    return f"{value}{mark} (threshold {show(alert.threshold, unit, alert.currency)}{mark})"


def window_text(alert: AlertView) -> str:
    """The window in words, `5 min`."""
    return "–" if alert.window_s is None else duration(alert.window_s)


def rows(alert: AlertView) -> list[tuple[str, str]]:
    """The facts in reading order."""
    zone = alert.timezone
    out = [("Account", alert.account), ("Score" if alert.is_model else "Value", value_text(alert))]
    brief = alert.briefing
    if alert.expected is not None and alert.expected != alert.value:
        usual = show(alert.expected, cast(Unit, alert.norm_unit), alert.currency)
        out.append(("Usual", usual))
    elif alert.unit == "money" and brief is not None and brief.usual is not None:
        usual = money(brief.usual, brief.currency)
        hours = brief.series.hours if brief.series is not None else 24
        out.append(("Usual", f"{usual} per {window_text(alert)} (median of the last {hours} h)"))
    out.append(("Window", window_text(alert)))
    out.append(("Since", clock(alert.since, zone, date=True)))
    if alert.status != "firing":
        out.append(("Ended", clock(alert.at, zone, date=True)))
        out.append(("Lasted", _lasted(alert)))
        if brief is not None:
            out.append(("Total cost", money(brief.spend, brief.currency)))
    if brief is not None and brief.account_calls:
        out.append(("Share of traffic", share_text(brief)))
    if brief is not None and brief.first_call:
        first, last = clock(brief.first_call, zone), clock(brief.last_call, zone)
        out.append(("First / last call", f"{first} / {last}"))
    if alert.destinations and (brief is None or not brief.destinations):
        out.append(("Top destinations", alert.destinations))
    out += [("Note", v) for k, v in alert.details if k == "note" and v not in heading_of(alert)]
    return out


def heading_of(alert: AlertView) -> str:
    """The alert's headline, else its rule's summary."""
    return alert.headline or alert.summary


def share_text(brief: Briefing) -> str:
    """`42 of the account's 55 calls (76 %), ₹672 of ₹700 spend`."""
    text = f"{brief.calls} of the account's {brief.account_calls} calls"
    text += f" ({percent(brief.calls / brief.account_calls)})"
    if brief.account_spend > 0:
        text += (f", {money(brief.spend, brief.currency)} of "
                 f"{money(brief.account_spend, brief.currency)} spend")  # fmt: skip
    return text


def destination_lines(alert: AlertView) -> list[str]:
    """`Vietnam, mobile: 3 calls, 12 min, ₹672` per country and number type."""
    brief = alert.briefing
    if brief is None:
        return []
    lines = []
    for d in brief.destinations:
        kind = number_type(d.kind)
        where = f"{country(d.country)}, {kind}" if kind else country(d.country)
        lines.append(f"{where}: {d.calls} call{'s' if d.calls != 1 else ''}, "
                     f"{duration(d.minutes * 60)}, {money(d.spend, brief.currency)}")  # fmt: skip
    return lines


def sample_lines(alert: AlertView) -> list[str]:
    """A few calls: `08:38 IST → +8432•••186, answered 4 min, ₹224 · id 9f3c…` (with the
    hangup cause and SIP code when enrichment fetched them); the evidence ids otherwise."""
    found = {c.call_id: c for c in alert.calls}
    brief = alert.briefing
    if brief is None or not brief.samples:
        return [_call_id(call_id, found) for call_id in alert.call_ids]
    lines = []
    for s in brief.samples:
        talk = f" {duration(s.talk_s)}" if s.talk_s else ""
        cost = f", {money(s.cost, brief.currency)}" if s.cost else ""
        when = clock(s.start, alert.timezone)
        lines.append(f"{when} → {s.to}, {s.status.replace('_', ' ')}{talk}{cost} · "
                     f"{_call_id(s.call_id, found)}")  # fmt: skip
    return lines


def _call_id(call_id: str, found: Mapping[str, CallDetail]) -> str:
    detail = found.get(call_id)
    if detail is None:
        return f"id {call_id}"
    cause, sip = detail.hangup_cause or "no cause", detail.sip_code
    return f"id {call_id} ({cause}{f' SIP {sip}' if sip is not None else ''})"


def _lasted(alert: AlertView) -> str:
    start, end = parse_utc(alert.since), parse_utc(alert.at)
    if start is None or end is None:
        return "–"
    return duration((end - start).total_seconds())
