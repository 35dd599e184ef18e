"""The one content model every channel renders from: a `Notice` about a group of alerts.

The notification stage turns a group's message into a `Notice` once (masking phone numbers,
adding links and whatever call details enrichment fetched); the outbox stores its JSON; each
notifier renders that same Notice for its channel (Slack blocks, email, webhook JSON,
Alertmanager alerts, apprise text, a log line). Anything new a notification should say (a
headline, a chart, a runbook link) is added here once and every channel can show it.

Each `AlertView` carries what a person needs to act: what fired (rule, severity, summary), for
which account, the value against its threshold (or the model's score, whose summary is its
explanation), the window, since when, the top destinations and other evidence, sample call
ids (never masked: they are how one investigates) with their hangup cause and SIP code when
enrichment fetched them, and a link (the Grafana account dashboard, or the daemon's page for
the alert).

Issue 17 added what makes an alert actionable in ten seconds: a `headline` in plain words (the
rule's summary with money in the CDRs' currency, durations in words and the account's norm;
`alerting.cards`), the rule's `runbook` line, the account's `timezone` (every time is shown
there with UTC beside it), the `briefing` computed from the account's calls (destinations by
country and number type, share of traffic, first and last call, masked samples, the chart's
series; `alerting.briefing`), `links` (dashboard, the alert's page, its chart) and `actions`
(the silence command and API, the command listing the calls). `alerting.facts` turns one view
into the rows every channel shows, so channels never drift.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from detector.alerting.briefing import Briefing
from detector.alerting.cards import Cards, headline
from detector.alerting.masking import Masker
from detector.alerting.settings import LinkSettings
from detector.alerting.wording import parse_utc

MODEL_PREFIX = "model:"
SAMPLE_CALLS = 5


@dataclass(frozen=True, slots=True)
class CallDetail:
    """One sample call as the single-call endpoint describes it."""

    call_id: str
    hangup_cause: str = ""
    sip_code: int | None = None
    meaning: str = ""


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as a notification shows it (text already masked)."""

    fingerprint: str
    delivery_id: str
    status: str
    severity: str
    rule: str
    account: str
    summary: str
    value: float | None
    threshold: float | None
    window_s: float | None
    since: str
    at: str
    labels: dict[str, str] = field(default_factory=dict)
    destinations: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)
    calls: list[CallDetail] = field(default_factory=list)
    link: str = ""
    headline: str = ""
    runbook: str = ""
    timezone: str = "UTC"
    currency: str = ""
    unit: str = "count"
    norm_unit: str = "count"
    expected: float | None = None
    briefing: Briefing | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    """(label, URL): the dashboard, the alert's page, its chart."""
    actions: list[tuple[str, str]] = field(default_factory=list)
    """(label, command or API call): silence it, list its calls."""

    @property
    def is_model(self) -> bool:
        """A model's finding: `value` is a score and the summary explains it."""
        return self.rule.startswith(MODEL_PREFIX)


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: a group's firing alerts, then its resolutions."""

    delivery_id: str
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    alerts: list[AlertView]
    link: str = ""

    @property
    def firing(self) -> list[AlertView]:
        """The alerts still firing."""
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def resolved(self) -> list[AlertView]:
        """The alerts that ended."""
        return [a for a in self.alerts if a.status != "firing"]

    @property
    def status(self) -> str:
        """`firing` while anything fires, else `resolved`."""
        return "firing" if self.firing else "resolved"

    @property
    def severity(self) -> str:
        """The highest severity among firing alerts (or among all when everything resolved)."""
        pool = self.firing or self.alerts
        ranks = {"info": 0, "warning": 1, "critical": 2}
        return max((a.severity for a in pool), key=lambda s: ranks.get(s, -1), default="")

    def title(self) -> str:
        """`[CRITICAL] MA_1: robocall-short-answered (+2 more)` / `[RESOLVED] …`, one line."""
        tag = "RESOLVED" if self.status == "resolved" else self.severity.upper()
        pool = self.firing or self.alerts
        accounts = sorted({a.account for a in pool})
        rules = sorted({a.rule for a in pool})
        who = accounts[0] if len(accounts) == 1 else f"{len(accounts)} accounts"
        what = rules[0] if len(rules) == 1 else f"{rules[0]} (+{len(rules) - 1} more)"
        extra = f", {len(self.resolved)} resolved" if self.firing and self.resolved else ""
        return f"[{tag}] {who}: {what}{extra}"

    def to_json(self) -> dict[str, Any]:
        """The outbox payload and the webhook body."""
        body: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        body["version"] = 1
        body["status"] = self.status
        body["severity"] = self.severity
        body["title"] = self.title()
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Notice:
        """Inverse of `to_json` (extra keys ignored)."""
        lists = {"calls", "details", "briefing", "links", "actions"}
        alerts = [
            AlertView(
                **{
                    **{k: v for k, v in a.items() if k not in lists},
                    "calls": [CallDetail(**c) for c in a.get("calls", [])],
                    "details": [tuple(d) for d in a.get("details", [])],
                    "links": [tuple(d) for d in a.get("links", [])],
                    "actions": [tuple(d) for d in a.get("actions", [])],
                    "briefing": Briefing.from_json(a["briefing"]) if a.get("briefing") else None,
                }
            )
            for a in body["alerts"]
        ]
        return cls(
            delivery_id=str(body["delivery_id"]), receiver=str(body["receiver"]),
            group_key=str(body["group_key"]), group_labels=dict(body["group_labels"]),
            alerts=alerts, link=str(body.get("link", "")),
        )  # fmt: skip


def alert_link(alert: Mapping[str, Any], links: LinkSettings, default_base: str) -> str:
    """Where a person looks at this alert: Grafana's account dashboard, else the daemon's page.

    >>> alert_link({"account": "MA 1", "fingerprint": "ab12"}, LinkSettings(), "http://d:9108")
    'http://d:9108/api/alerts/ab12'
    >>> alert_link({"account": "MA 1", "fingerprint": "ab12"},
    ...            LinkSettings(grafana_url="https://g/"), "")
    'https://g/d/cdr-detector-account?var-account=MA+1'
    """
    if links.grafana_url:
        query = urlencode({"var-account": str(alert.get("account", ""))})
        return f"{links.grafana_url.rstrip('/')}/d/{quote(links.grafana_dashboard)}?{query}"
    base = (links.external_url or default_base).rstrip("/")
    return f"{base}/api/alerts/{quote(str(alert.get('fingerprint', '')))}"


def links_of(
    alert: Mapping[str, Any], links: LinkSettings, default_base: str, chart: bool
) -> list[tuple[str, str]]:
    """(label, URL) pairs: the Grafana account dashboard, the alert's page, its chart.

    >>> links_of({"account": "MA 1", "fingerprint": "ab12"}, LinkSettings(), "http://d:9108",
    ...          True)  # doctest: +NORMALIZE_WHITESPACE
    [('Alert page', 'http://d:9108/api/alerts/ab12'),
     ('Chart', 'http://d:9108/api/alerts/ab12/chart.png')]
    """
    found: list[tuple[str, str]] = []
    if links.grafana_url:
        found.append(("Dashboard", alert_link(alert, links, default_base)))
    base = (links.external_url or default_base).rstrip("/")
    if base:
        page = f"{base}/api/alerts/{quote(str(alert.get('fingerprint', '')))}"
        found.append(("Alert page", page))
        if chart:
            found.append(("Chart", f"{page}/chart.png"))
    return found


def actions_of(alert: Mapping[str, Any], direction: str | None, base: str) -> list[tuple[str, str]]:
    """(label, command) pairs: silence this alert (CLI and API), list its calls (CLI).

    >>> for label, text in actions_of({"rule": "r1", "account": "MA_1", "at":
    ...         "2026-03-05T08:38:22Z", "starts_at": "2026-03-05T08:30:00Z"}, "outbound", ""):
    ...     print(f"{label}: {text.replace(' --', chr(10) + '  --')}")
    Silence 2 h: cdr-detector silence add rule=r1 account=MA_1
      --duration 2h
    List the calls: cdr-detector cdrs
      --account MA_1
      --from 2026-03-04
      --to 2026-03-05
      --direction outbound
    """
    rule, account = str(alert.get("rule", "")), str(alert.get("account", ""))
    matchers = f"rule={rule} account={account}"
    quoted = " ".join(shlex.quote(m) for m in matchers.split(" "))
    found = [("Silence 2 h", f"cdr-detector silence add {quoted} --duration 2h")]
    if base:
        body = json.dumps({"matchers": matchers.split(" "), "duration": "2h", "comment": ""})
        found.append(("Silence by API", f"POST {base.rstrip('/')}/api/silences {body}"))
    at = str(alert.get("at", ""))[:10]
    if at:
        first = parse_utc(str(alert.get("starts_at", "")) or str(alert.get("at", "")))
        day = (first - timedelta(days=1)).date().isoformat() if first else at
        command = f"cdr-detector cdrs --account {shlex.quote(account)} --from {day} --to {at}"
        if direction:
            command += f" --direction {direction}"
        found.append(("List the calls", command))
    return found


def view(
    alert: Mapping[str, Any],
    masker: Masker,
    link: str = "",
    calls: Sequence[CallDetail] = (),
    *,
    cards: Cards | None = None,
    briefing: Briefing | None = None,
    links: Sequence[tuple[str, str]] = (),
    base: str = "",
) -> AlertView:
    """One stored alert JSON as it is shown (numbers masked, call ids kept)."""
    cards = cards or Cards()
    card = cards.of(str(alert.get("rule", "")))
    evidence = dict(alert.get("evidence") or {})
    call_ids = [str(c) for c in evidence.pop("call_ids", [])][:SAMPLE_CALLS]
    window = evidence.pop("window_s", None)
    destinations = masker(str(evidence.pop("top_destinations", "")))
    expected = _number(evidence.get("expected"))
    details = [(str(k), masker(str(v))[:300]) for k, v in sorted(evidence.items())]
    currency = briefing.currency if briefing else ""
    head = headline(card, alert, currency, briefing, cards.home_country) if card.summary else ""
    return AlertView(
        fingerprint=str(alert.get("fingerprint", "")),
        delivery_id=str(alert.get("delivery_id", "")),
        status=str(alert.get("status", "")),
        severity=str(alert.get("severity", "")),
        rule=str(alert.get("rule", "")),
        account=masker(str(alert.get("account", ""))),
        summary=masker(str(alert.get("summary", ""))),
        value=_number(alert.get("value")),
        threshold=_number(alert.get("threshold")),
        window_s=_number(window),
        since=str(alert.get("starts_at", "")),
        at=str(alert.get("at", "")),
        labels={str(k): masker(str(v)) for k, v in dict(alert.get("labels") or {}).items()},
        destinations=destinations,
        details=details,
        call_ids=call_ids,
        calls=list(calls),
        link=link,
        headline=masker(head),
        runbook=card.runbook,
        timezone=cards.zone_of(str(alert.get("account", ""))),
        currency=currency,
        unit=card.unit,
        norm_unit=card.norm_unit,
        expected=expected,
        briefing=briefing,
        links=list(links),
        actions=[(k, masker(v)) for k, v in actions_of(alert, card.scope.direction, base)],
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None
