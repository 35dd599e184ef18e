"""Per-account series, bounded by a cap: KPIs, alert state and anomaly score of the top accounts.

Which accounts get their own series: accounts with firing alerts first, then the busiest (most
CDRs since start-up), up to `cap`; everything else is summed into ``account="_other"``. The
selection is made once per cycle, before that cycle's calls are counted, and each call is
counted in the series of its account if the account is selected at that moment, else in
`_other`. So every counter only ever goes up: an account that enters the set starts its own
series from zero (its earlier calls stay in `_other`), and one that leaves it keeps its total
and simply stops being exposed (Prometheus marks the series stale) until it comes back.
`rate()` never sees a false counter reset, and the sum over all series is the fleet's total.

Gauges (alerts firing, anomaly score) follow the selection at scrape time: selected accounts
are exposed on their own, the rest are summed (alerts) or maxed (score) into `_other`.

Cardinality: (cap + 1) × (6 + currencies + 6 cause classes) series for the KPI counters,
firing count and anomaly score, plus one `alerts_firing` series per firing (rule, severity) of a
selected account and one per known (rule, severity) for `_other` (zero when nothing fires).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from detector.alerting.policy import AlertsState, Phase
from detector.enrich.kpi import FAILURE_CLASSES, Tally

PREFIX = "cdr_detector_"
OTHER_ACCOUNT = "_other"
REDACTED_ACCOUNT = "_redacted"
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")

RuleSeverity = tuple[str, str]
"""(rule or model id, severity label) of an alert."""


def account_label(account: str) -> str:
    """The label value for an account id; anything that looks like a phone number is redacted.

    >>> account_label("MA_1")
    'MA_1'
    >>> account_label("+14155550100")
    '_redacted'
    """
    return REDACTED_ACCOUNT if _PHONE_LIKE.match(account) else account


def firing_by_rule(alerts: AlertsState) -> dict[RuleSeverity, int]:
    """An account's firing alerts counted by (rule, severity); shadow alerts are left out.

    A fingerprint re-firing within its cooldown counts (it is firing, only not notified).
    """
    out: dict[RuleSeverity, int] = {}
    for track in alerts.open.values():
        if track.phase is not Phase.FIRING or track.latest.shadow:
            continue
        severity = track.notified_severity or track.peak
        key = (track.latest.source, severity.label)
        out[key] = out.get(key, 0) + 1
    return out


@dataclass(slots=True)
class _Accounts:
    """What the collector remembers; guarded by the collector's lock."""

    volume: dict[str, int] = field(default_factory=dict)
    tallies: dict[str, Tally] = field(default_factory=dict)
    firing: dict[str, dict[RuleSeverity, int]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    selected: list[str] = field(default_factory=list)
    known: set[RuleSeverity] = field(default_factory=set)
    currencies: set[str] = field(default_factory=set)


class AccountCollector(Collector):
    """Bounded per-account series (see the module docstring for the selection)."""

    def __init__(self, cap: int, currencies: Iterable[str] = ()) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._state = _Accounts(currencies=set(currencies))
        self._state.tallies[OTHER_ACCOUNT] = Tally()

    def count(self, tallies: Mapping[str, Tally]) -> None:
        """Count one cycle's calls, given per account; re-selects the top accounts first."""
        s = self._state
        with self._lock:
            for account, tally in tallies.items():
                key = account_label(account)
                s.volume[key] = s.volume.get(key, 0) + tally.attempts
            s.selected = self._select()
            keep = set(s.selected)
            for account, tally in tallies.items():
                key = account_label(account)
                key = key if key in keep else OTHER_ACCOUNT
                s.tallies.setdefault(key, Tally()).merge(tally)
                s.currencies.update(tally.spend)

    def set_firing(self, account: str, firing: Mapping[RuleSeverity, int]) -> None:
        """Set the firing alerts of `account` by (rule, severity); empty means none."""
        key = account_label(account)
        with self._lock:
            if firing:
                self._state.firing[key] = dict(firing)
            else:
                self._state.firing.pop(key, None)
            self._state.selected = self._select()

    def set_score(self, account: str, score: float) -> None:
        """Set the anomaly score of `account`'s last scored bucket."""
        with self._lock:
            self._state.scores[account_label(account)] = score

    def known_alerts(self, keys: Iterable[RuleSeverity]) -> None:
        """The (rule, severity) pairs `_other` always exposes, at zero when nothing fires."""
        with self._lock:
            self._state.known = set(keys)

    def forget(self, account: str) -> None:
        """Drop an evicted account: it stops being ranked and exposed."""
        key = account_label(account)
        s = self._state
        with self._lock:
            for table in (s.volume, s.tallies, s.firing, s.scores):
                table.pop(key, None)
            s.selected = self._select()

    def selected(self) -> list[str]:
        """The accounts that get their own series, in priority order."""
        with self._lock:
            return list(self._state.selected)

    def _select(self) -> list[str]:
        s = self._state
        names = set(s.volume) | set(s.firing)
        names.discard(OTHER_ACCOUNT)
        ranked = sorted(names, key=lambda a: (a not in s.firing, -s.volume.get(a, 0), a))
        return ranked[: self.cap]

    def collect(self) -> Iterator[Metric]:
        """Yield the bounded account series."""
        with self._lock:
            s = self._state
            shown = sorted(s.selected)
            tallies = {a: _copy(s.tallies.get(a)) for a in shown}
            tallies[OTHER_ACCOUNT] = _copy(s.tallies[OTHER_ACCOUNT])
            firing = _fold_firing(s.firing, set(shown), s.known)
            scores = _fold_scores(s.scores, set(shown))
            currencies = sorted(s.currencies)
        yield from _kpi_families(tallies, currencies)
        yield from _alert_families(firing, shown)
        score = GaugeMetricFamily(
            PREFIX + "account_anomaly_score",
            "Anomaly model score (0-1, calibrated) of the account's last scored bucket "
            "(top accounts; _other is the highest of the rest).",
            labels=["account"],
        )
        for account, value in sorted(scores.items()):
            score.add_metric([account], value)
        yield score


def _copy(tally: Tally | None) -> Tally:
    out = Tally()
    if tally is not None:
        out.merge(tally)
    return out


def _fold_firing(
    firing: Mapping[str, Mapping[RuleSeverity, int]], shown: set[str], known: set[RuleSeverity]
) -> dict[tuple[str, str, str], int]:
    """(rule, severity, account) → firing count; unselected accounts summed into `_other`."""
    out: dict[tuple[str, str, str], int] = {(r, sev, OTHER_ACCOUNT): 0 for r, sev in known}
    for account, by_rule in firing.items():
        label = account if account in shown else OTHER_ACCOUNT
        for (rule, severity), n in by_rule.items():
            key = (rule, severity, label)
            out[key] = out.get(key, 0) + n
    return out


def _fold_scores(scores: Mapping[str, float], shown: set[str]) -> dict[str, float]:
    out = {a: v for a, v in scores.items() if a in shown}
    out[OTHER_ACCOUNT] = max((v for a, v in scores.items() if a not in shown), default=0.0)
    return out


def _kpi_families(tallies: Mapping[str, Tally], currencies: list[str]) -> Iterator[Metric]:
    """The per-account KPI counters (same definitions as `detector.enrich.kpi`)."""

    def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> CounterMetricFamily:
        return CounterMetricFamily(PREFIX + name, doc, labels=["account", *labels])

    cdrs = counter("account_cdrs", "CDRs (call attempts) per account (top accounts).")
    answered = counter("account_calls_answered", "Answered calls per account (top accounts).")
    talk = counter("account_talk_seconds", "Talk seconds of answered calls per account.")
    short = counter("account_short_calls", "Answered calls under 6 s of talk per account.")
    spend = counter("account_spend", "Call cost per account and currency.", ("currency",))
    failures = counter(
        "account_call_failures", "Unanswered calls per account by cause class.", ("cause_class",)
    )
    for account, t in sorted(tallies.items()):
        cdrs.add_metric([account], t.attempts)
        answered.add_metric([account], t.answered)
        talk.add_metric([account], t.talk_s)
        short.add_metric([account], t.short)
        for currency in currencies:
            spend.add_metric([account, currency], t.spend.get(currency, 0.0))
        for cls in FAILURE_CLASSES:
            failures.add_metric([account, cls.value], t.by_class.get(cls, 0))
    yield from (cdrs, answered, talk, short, spend, failures)


def _alert_families(
    firing: Mapping[tuple[str, str, str], int], shown: list[str]
) -> Iterator[Metric]:
    per_rule = GaugeMetricFamily(
        PREFIX + "alerts_firing",
        "Alerts firing now by rule, severity and account (top accounts; the rest in _other).",
        labels=["rule", "severity", "account"],
    )
    per_account = dict.fromkeys([*shown, OTHER_ACCOUNT], 0)
    for (rule, severity, account), n in sorted(firing.items()):
        per_rule.add_metric([rule, severity, account], n)
        per_account[account] = per_account.get(account, 0) + n
    total = GaugeMetricFamily(
        PREFIX + "account_firing_alerts",
        "Alerts currently firing per account (top accounts).",
        labels=["account"],
    )
    for account, n in sorted(per_account.items()):
        total.add_metric([account], n)
    yield per_rule
    yield total
