"""`Metrics`: every series the daemon exposes, with one typed method per thing that happened.

Each `Metrics` owns a `CollectorRegistry` (or is handed one) and the global default registry
is never used, so tests start from a fresh registry and two daemons in one process never
collide. The core never sees this module; the service records what the core returned and
what the edges did (API calls, deliveries).

Series exist from the start for every label value known in advance (row rejection reasons,
API codes and endpoints, poll and reload outcomes, the configured receivers, the loaded rules'
severities and statuses, the expected currencies), so `rate()`/`increase()` see the first
event and dashboards never show "No data" for a quiet counter. Gauges are set for every
known label value on each update, so they return to 0 (an outbox that drained reads 0).
`_created` series are switched off (process-wide): they doubled the series count for no use.

Label vocabulary (bounded): `direction` and `status` from the CDR enums, `reason` from
`Rejected.reason`, `code` an HTTP status or timeout|transport|malformed, `endpoint`
cdrs|account_cdrs|accounts|call, `rule` a rule or model id, `severity` warning|critical (info
if a rule uses it), `status` firing|resolved, `receiver` a configured notifier, `outcome`
sent|retry|dead or ok|error, `cause_class` from `detector.enrich.kpi`, `currency` an ISO code
from the feed, `account` an account id within the cap (never a phone number).
The catalogue with meanings and cardinality bounds is `docs/metrics.md`.
"""

from __future__ import annotations

import time
from collections import Counter as Tally_
from collections.abc import Callable, Iterable, Mapping, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from detector import __version__
from detector.domain import CDR, REJECT_REASONS, Alert, AlertStatus, Direction, Status
from detector.enrich.kpi import FAILURE_CLASSES, Tally
from detector.metrics.accounts import OTHER_ACCOUNT as OTHER
from detector.metrics.accounts import PREFIX, AccountCollector, RuleSeverity, account_label
from detector.metrics.lag import LagCollector
from detector.webhooks.ingest import OUTCOMES as WEBHOOK_OUTCOMES

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
COMMIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
API_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ALERT_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
"""Alert latency: a webhook's alert in a second or two, a polled call's within the poll's."""
LATENCY_BUCKETS = (15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0)
"""Detection latency: the poller delivers short calls in ~90 s, long ones up to hours later."""

API_CODES = ("200", "401", "403", "429", "500", "502", "503", "504", "timeout", "transport")
ENDPOINTS = ("cdrs", "account_cdrs", "accounts", "call")
DELIVERY_OUTCOMES = ("sent", "retry", "dead")
SEVERITIES = ("warning", "critical")
ALERT_STATUSES = tuple(s.value for s in AlertStatus)
DEFAULT_CURRENCIES = ("INR",)


class Metrics:
    """Every metric the daemon records (see the module docstring and `docs/metrics.md`)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        account_cap: int = 200,
        clock: Callable[[], float] = time.time,
        version: str = __version__,
        currencies: Iterable[str] = DEFAULT_CURRENCIES,
    ) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in 0.26
        self.registry = registry if registry is not None else CollectorRegistry()
        self.currencies = tuple(currencies)
        self.accounts = AccountCollector(account_cap, self.currencies)
        self.lag = LagCollector(clock)
        self.clock = clock
        self._receivers: set[str] = set()
        self._build_ingest()
        self._build_kpis()
        self._build_poll()
        self._build_detection()
        self._build_delivery()
        self._build_state()
        self.registry.register(self.accounts)
        self.registry.register(self.lag)
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.build_info(version)

    def _counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(PREFIX + name, doc, labels, registry=self.registry)

    def _gauge(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(PREFIX + name, doc, labels, registry=self.registry)

    def _histogram(
        self, name: str, doc: str, buckets: Sequence[float], labels: tuple[str, ...] = ()
    ) -> Histogram:
        return Histogram(PREFIX + name, doc, labels, buckets=buckets, registry=self.registry)

    def _build_ingest(self) -> None:
        self._ingested = self._counter(
            "cdrs_ingested", "CDRs accepted after normalisation.", ("direction", "status")
        )
        for direction in Direction:
            for status in Status:
                self._ingested.labels(direction.value, status.value)
        self._rejected = self._counter(
            "cdrs_rejected", "Wire rows rejected by normalisation.", ("reason",)
        )
        for reason in REJECT_REASONS:
            self._rejected.labels(reason)
        self._late = self._counter("late_cdrs", "CDRs that arrived after their window closed.")
        self._api = self._counter("api_requests", "Partner API requests by outcome.", ("code",))
        for code in API_CODES:
            self._api.labels(code)
        self._api_duration = self._histogram(
            "api_request_duration_seconds",
            "Wall time of one partner API request (one HTTP attempt) by endpoint.",
            API_BUCKETS,
            ("endpoint",),
        )
        for endpoint in ENDPOINTS:
            self._api_duration.labels(endpoint)

    def _build_kpis(self) -> None:
        d = ("direction",)
        self._attempts = self._counter("call_attempts", "Call attempts (every CDR).", d)
        self._answered = self._counter("calls_answered", "Answered calls.", d)
        self._talk = self._counter("talk_seconds", "Talk seconds of answered calls.", d)
        self._ring = self._counter("ring_seconds", "Ring seconds of all calls.", d)
        self._short = self._counter("short_calls", "Answered calls under 6 s of talk.", d)
        self._spend = self._counter("spend", "Call cost by currency.", ("direction", "currency"))
        self._failures = self._counter(
            "call_failures", "Unanswered calls by cause class.", ("direction", "cause_class")
        )
        for direction in Direction:
            value = direction.value
            for family in (self._attempts, self._answered, self._talk, self._ring, self._short):
                family.labels(value)
            for currency in self.currencies:
                self._spend.labels(value, currency)
            for cls in FAILURE_CLASSES:
                self._failures.labels(value, cls.value)

    def _build_poll(self) -> None:
        self._poll_duration = self._histogram(
            "poll_cycle_duration_seconds",
            "Wall time of one poll cycle (fetch, detect, commit).",
            POLL_BUCKETS,
        )
        self._poll_cycles = self._counter("poll_cycles", "Poll cycles by outcome.", ("outcome",))
        for outcome in ("ok", "error"):
            self._poll_cycles.labels(outcome)
        self._last_poll = self._gauge(
            "last_successful_poll_timestamp_seconds", "Unix time of the last successful poll."
        )
        self._interval = self._gauge(
            "poll_interval_seconds", "The configured wait between poll cycles."
        )
        self._gaps = self._counter(
            "feed_gaps",
            "Stretches of the feed a list could not read within one cycle (outage, backlog); "
            "each is read before that list goes on.",
        )
        self._alert_latency = self._histogram(
            "alert_latency_seconds",
            "From what tipped an alert to its commit: a webhook's arrival (path=webhook) or "
            "the end of the newest polled call in its evidence (path=poll).",
            ALERT_BUCKETS,
            ("path",),
        )
        for path in ("poll", "webhook"):
            self._alert_latency.labels(path)
        self._webhooks = self._counter(
            "webhook_requests", "Trunk webhook requests by outcome.", ("outcome",)
        )
        for outcome in WEBHOOK_OUTCOMES:
            self._webhooks.labels(outcome)
        self._beyond = self._counter(
            "cdrs_beyond_horizon",
            "CDRs of calls longer than poll.lateness_horizon_s: read late (never dropped).",
        )
        self._open_calls = self._gauge(
            "open_calls",
            "Calls in progress (trunk CallInitiated without Hangup or CDR yet) per account "
            "(top accounts; _other is the rest).",
            ("account",),
        )
        self._open_by_country = self._gauge(
            "open_calls_by_destination",
            "Calls in progress per destination country (ISO alpha-2, empty when unknown).",
            ("dest_country",),
        )
        self._open_calls.labels(OTHER).set(0)
        self._open_by_country.labels("").set(0)
        self._open_oldest = self._gauge(
            "open_call_oldest_seconds", "How long the oldest call in progress has been open."
        )
        self._open_expired = self._counter(
            "open_calls_expired",
            "Open calls forgotten at the platform's longest call (poll.lateness_horizon_s) "
            "with no Hangup or CDR.",
        )
        self._unread = self._gauge(
            "feed_unread_seconds",
            "Feed seconds not read yet: what open gaps still have to read, plus the time since "
            "the last successful poll while polls fail.",
        )

    def _build_detection(self) -> None:
        self._findings = self._counter(
            "findings", "Findings from rules and models.", ("rule", "severity")
        )
        self._alerts = self._counter(
            "alerts", "Alert notifications emitted.", ("rule", "severity", "status")
        )
        self._latency = self._histogram(
            "detection_latency_seconds",
            "Wall-clock time from a firing alert's event time (the call that tipped it) to its "
            "commit.",
            LATENCY_BUCKETS,
        )
        self._rules_loaded = self._gauge("rules_loaded", "Rules currently loaded.")
        self._reloads = self._counter("rule_reloads", "Rule reload attempts.", ("outcome",))
        for outcome in ("ok", "error"):
            self._reloads.labels(outcome)
        self._reload_ok = self._gauge(
            "rules_last_reload_success", "1 if the last rule reload succeeded, else 0."
        )
        self._reload_ok.set(1)

    def _build_delivery(self) -> None:
        self._notifications = self._counter(
            "notifications", "Delivery attempts by receiver and outcome.", ("receiver", "outcome")
        )
        self._outbox = self._gauge(
            "outbox_pending", "Notifications waiting in the outbox.", ("receiver",)
        )
        self._silenced = self._counter(
            "notifications_silenced", "Alert transitions held back by a silence.", ("receiver",)
        )
        self._enrichment = self._counter(
            "enrichment_calls", "Single-call lookups for new alerts by outcome.", ("outcome",)
        )
        for outcome in ("fetched", "failed", "skipped"):
            self._enrichment.labels(outcome)

    def _build_state(self) -> None:
        self._accounts_tracked = self._gauge("accounts_tracked", "Accounts held in memory.")
        self._commit_duration = self._histogram(
            "state_commit_duration_seconds", "Wall time of one state transaction.", COMMIT_BUCKETS
        )
        self._commit_accounts = self._counter(
            "state_accounts_written", "Account states written by state commits."
        )
        self._build = self._gauge(
            "build_info", "Build information; the value is always 1.", ("version",)
        )
        self._state_failures = self._counter(
            "state_write_failures", "Cycles abandoned because the state file could not be written."
        )
        self._keys_dropped = self._counter(
            "rule_keys_dropped", "Group keys refused because a rule hit its per-account key cap."
        )
        self._purged = self._counter(
            "purged_rows", "Rows removed from the state file by retention.", ("table",)
        )
        for table in ("sent_notifications", "resolved_alerts", "rejected_rows"):
            self._purged.labels(table)

    def receivers(self, names: Iterable[str]) -> None:
        """Declare the configured receivers: their series exist (at 0) from now on."""
        for receiver in names:
            self._receivers.add(receiver)
            for outcome in DELIVERY_OUTCOMES:
                self._notifications.labels(receiver, outcome)
            self._outbox.labels(receiver)
            self._silenced.labels(receiver)

    def rules(self, ids: Iterable[str]) -> None:
        """Declare the loaded rules (and model): finding, alert and alert-state series at 0."""
        keys: list[RuleSeverity] = []
        for rule in ids:
            for severity in SEVERITIES:
                keys.append((rule, severity))
                self._findings.labels(rule, severity)
                for status in ALERT_STATUSES:
                    self._alerts.labels(rule, severity, status)
        self.accounts.known_alerts(keys)

    def calls(self, cdrs: Sequence[CDR]) -> None:
        """Count accepted CDRs: by direction and status, the KPI counters, per account."""
        by_status: Tally_[tuple[str, str]] = Tally_()
        by_direction: dict[str, Tally] = {}
        by_account: dict[str, Tally] = {}
        for cdr in cdrs:
            by_status[cdr.direction.value, cdr.status.value] += 1
            by_direction.setdefault(cdr.direction.value, Tally()).add(cdr)
            by_account.setdefault(cdr.account, Tally()).add(cdr)
        for (direction, status), n in by_status.items():
            self._ingested.labels(direction, status).inc(n)
        for direction, tally in by_direction.items():
            self._count_kpis(direction, tally)
        self.accounts.count(by_account)

    def _count_kpis(self, direction: str, t: Tally) -> None:
        self._attempts.labels(direction).inc(t.attempts)
        self._answered.labels(direction).inc(t.answered)
        self._talk.labels(direction).inc(t.talk_s)
        self._ring.labels(direction).inc(t.ring_s)
        self._short.labels(direction).inc(t.short)
        for currency, cost in t.spend.items():
            self._spend.labels(direction, currency).inc(cost)
        for cls, n in t.by_class.items():
            if cls in FAILURE_CLASSES:
                self._failures.labels(direction, cls.value).inc(n)

    def cdrs_rejected(self, reason: str, n: int = 1) -> None:
        """Count rejected wire rows by `Rejected.reason`."""
        self._rejected.labels(reason).inc(n)

    def late_cdrs(self, n: int) -> None:
        """Count CDRs that arrived too late for their window."""
        self._late.inc(n)

    def api_request(self, endpoint: str, code: str, seconds: float) -> None:
        """Count one partner API request by status code or failure kind, and time it."""
        self._api.labels(code).inc()
        self._api_duration.labels(endpoint).observe(seconds)

    def poll_interval(self, seconds: float) -> None:
        """Expose the configured poll interval (alerts scale their thresholds by it)."""
        self._interval.set(seconds)

    def poll_cycle(
        self, duration_s: float, ok: bool, now: float, newest_event_ts: float | None
    ) -> None:
        """Record one poll cycle; `now` and `newest_event_ts` are Unix seconds."""
        self._poll_duration.observe(duration_s)
        self._poll_cycles.labels("ok" if ok else "error").inc()
        if ok:
            self._last_poll.set(now)
            self.lag.last_success = now
        if newest_event_ts is not None:
            self.lag.newest_event = newest_event_ts

    def feed_gaps(self, n: int) -> None:
        """Count feed gaps opened (stretches left to read in later cycles)."""
        self._gaps.inc(n)

    def alert_latency(self, path: str, seconds: float) -> None:
        """Observe how long an alert took from what tipped it (see `webhooks.intake`)."""
        self._alert_latency.labels(path).observe(seconds)

    def webhook(self, outcome: str) -> None:
        """Count one webhook request by outcome (`webhooks.ingest.OUTCOMES`)."""
        self._webhooks.labels(outcome).inc()

    def open_calls(
        self,
        by_account: Mapping[str, int],
        by_country: Mapping[str, int],
        oldest_s: float,
        expired: int,
    ) -> None:
        """Set the calls in progress (`detector.opencalls.Census`); count `expired` more."""
        shown = set(self.accounts.selected())
        accounts: Tally_[str] = Tally_()
        for account, n in by_account.items():
            accounts[account_label(account) if account_label(account) in shown else OTHER] += n
        self._open_calls.clear()
        self._open_calls.labels(OTHER).set(0)
        for account, n in accounts.items():
            self._open_calls.labels(account).set(n)
        self._open_by_country.clear()
        self._open_by_country.labels("").set(0)
        for country, n in by_country.items():
            self._open_by_country.labels(country[:8]).set(n)
        self._open_oldest.set(oldest_s)
        self._open_expired.inc(expired)

    def beyond_horizon(self, n: int) -> None:
        """Count CDRs of calls longer than the poller's horizon."""
        self._beyond.inc(n)

    def feed_unread(self, seconds: float) -> None:
        """Set the feed seconds not read yet."""
        self._unread.set(seconds)

    def finding(self, rule: str, severity: str) -> None:
        """Count one finding."""
        self._findings.labels(rule, severity).inc()

    def alert(self, alert: Alert, now: float) -> None:
        """Count one alert notification; a firing one also observes its detection latency."""
        self._alerts.labels(alert.source, alert.severity.label, alert.status.value).inc()
        if alert.status is AlertStatus.FIRING and not alert.shadow:
            self._latency.observe(max(0.0, now - alert.at.timestamp()))

    def alert_state(self, account: str, firing: Mapping[RuleSeverity, int]) -> None:
        """Set the alerts firing now for one account, by (rule, severity)."""
        self.accounts.set_firing(account, firing)

    def anomaly_score(self, account: str, score: float) -> None:
        """Set the anomaly score of one account's last scored bucket."""
        self.accounts.set_score(account, score)

    def notification(self, receiver: str, outcome: str, n: int = 1) -> None:
        """Count delivery attempts: sent, retry or dead."""
        self._notifications.labels(receiver, outcome).inc(n)

    def silenced(self, receiver: str, n: int) -> None:
        """Count alert transitions a silence kept from a receiver."""
        self._silenced.labels(receiver).inc(n)

    def enrichment(self, outcome: str) -> None:
        """Count one single-call lookup: fetched, failed or skipped (queue full)."""
        self._enrichment.labels(outcome).inc()

    def outbox_pending(self, receiver: str, n: int) -> None:
        """Set the outbox backlog of one receiver (the delivery task sets it after each step)."""
        self._outbox.labels(receiver).set(n)

    def outbox(self, pending: Mapping[str, int]) -> None:
        """Set the outbox backlog of every receiver: those not in `pending` read 0."""
        for receiver in self._receivers | set(pending):
            self._outbox.labels(receiver).set(pending.get(receiver, 0))

    def accounts_tracked(self, n: int) -> None:
        """Set how many accounts the detector holds in memory."""
        self._accounts_tracked.set(n)

    def rules_loaded(self, n: int) -> None:
        """Set how many rules are loaded."""
        self._rules_loaded.set(n)

    def rule_reload(self, ok: bool) -> None:
        """Record a rule reload attempt and whether it succeeded."""
        self._reloads.labels("ok" if ok else "error").inc()
        self._reload_ok.set(1 if ok else 0)

    def state_commit(self, duration_s: float, accounts_written: int) -> None:
        """Record one state transaction and how many account states it wrote."""
        self._commit_duration.observe(duration_s)
        self._commit_accounts.inc(accounts_written)

    def state_failure(self) -> None:
        """Count one cycle abandoned because the state file could not be written."""
        self._state_failures.inc()

    def rule_keys_dropped(self, n: int) -> None:
        """Count group keys refused at a rule's per-account cap."""
        self._keys_dropped.inc(n)

    def purged(self, table: str, n: int) -> None:
        """Count rows removed by retention from one table."""
        self._purged.labels(table).inc(n)

    def build_info(self, version: str) -> None:
        """Expose `cdr_detector_build_info{version}` = 1 (replacing any earlier version)."""
        self._build.clear()
        self._build.labels(version).set(1)

    def forget_account(self, account: str) -> None:
        """Drop an evicted account from the per-account series."""
        self.accounts.forget(account)
