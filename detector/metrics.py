"""Prometheus metrics: an explicit registry per `Metrics`, recorded by the service.

Nothing is registered at import time and the global default registry is never used: each
`Metrics` owns a `CollectorRegistry` (or is handed one), so tests start from a fresh registry
and two daemons in one process never collide. The core never sees this module; the service
records what the core returned (`Step`) and what the edges did (API calls, deliveries).

Values that depend on "now" (poll lag, event-time lag) and the bounded per-account series are
computed at scrape time by a collector, from an injected clock.

Label vocabulary (bounded): `direction` and `status` from the CDR enums, `reason` from
`Rejected.reason`, `code` an HTTP status or "timeout"/"malformed"/"error", `rule` a rule or
model id, `severity` info|warning|critical, `receiver` a notifier name, `outcome`
sent|retry|dead or ok|error, `account` an account id (never a phone number).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from detector import __version__
from detector.domain import Direction, Status

PREFIX = "cdr_detector_"
OTHER_ACCOUNT = "_other"
REDACTED_ACCOUNT = "_redacted"
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
COMMIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")


def account_label(account: str) -> str:
    """The label value for an account id; anything that looks like a phone number is redacted.

    >>> account_label("MA_1")
    'MA_1'
    >>> account_label("+14155550100")
    '_redacted'
    """
    return REDACTED_ACCOUNT if _PHONE_LIKE.match(account) else account


@dataclass(slots=True)
class _AccountTally:
    """Per-account counts kept in memory; exposed bounded by the cap at scrape time."""

    cdrs: dict[str, int] = field(default_factory=dict)
    firing: dict[str, int] = field(default_factory=dict)


class AccountCollector(Collector):
    """Per-account series bounded by `cap`: firing accounts first, then the busiest.

    Accounts beyond the cap are summed into ``account="_other"``. When an account moves
    in or out of the top set, `_other` can go down; `rate()` treats that as a counter reset,
    which is the price of a bounded series count.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._tally = _AccountTally()

    def add_cdrs(self, account: str, n: int) -> None:
        """Count `n` CDRs for `account`."""
        key = account_label(account)
        with self._lock:
            self._tally.cdrs[key] = self._tally.cdrs.get(key, 0) + n

    def set_firing(self, account: str, n: int) -> None:
        """Set how many alerts are firing for `account` (0 removes it from the firing set)."""
        key = account_label(account)
        with self._lock:
            if n > 0:
                self._tally.firing[key] = n
            else:
                self._tally.firing.pop(key, None)

    def forget(self, account: str) -> None:
        """Drop an evicted account; its CDR count moves into nothing (the daemon forgot it)."""
        key = account_label(account)
        with self._lock:
            self._tally.cdrs.pop(key, None)
            self._tally.firing.pop(key, None)

    def selected(self) -> list[str]:
        """The accounts that get their own series, in priority order."""
        with self._lock:
            return self._select(dict(self._tally.cdrs), dict(self._tally.firing))

    def _select(self, cdrs: dict[str, int], firing: dict[str, int]) -> list[str]:
        names = set(cdrs) | set(firing)
        ranked = sorted(names, key=lambda a: (a not in firing, -cdrs.get(a, 0), a))
        return ranked[: self.cap]

    def collect(self) -> Iterator[Metric]:
        """Yield the bounded account series."""
        with self._lock:
            cdrs, firing = dict(self._tally.cdrs), dict(self._tally.firing)
        keep = set(self._select(cdrs, firing))
        total = CounterMetricFamily(
            PREFIX + "account_cdrs", "CDRs ingested per account (top accounts).", labels=["account"]
        )
        alerts = GaugeMetricFamily(
            PREFIX + "account_firing_alerts",
            "Alerts currently firing per account (top accounts).",
            labels=["account"],
        )
        other_cdrs = sum(n for a, n in cdrs.items() if a not in keep)
        other_firing = sum(n for a, n in firing.items() if a not in keep)
        for account in sorted(keep):
            total.add_metric([account], cdrs.get(account, 0))
            alerts.add_metric([account], firing.get(account, 0))
        total.add_metric([OTHER_ACCOUNT], other_cdrs)
        alerts.add_metric([OTHER_ACCOUNT], other_firing)
        yield total
        yield alerts


class LagCollector(Collector):
    """Poll lag and event-time lag, computed at scrape time from an injected clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.last_success: float | None = None
        self.newest_event: float | None = None

    def collect(self) -> Iterator[Metric]:
        """Yield the lag gauges; poll lag counts from start-up until the first success."""
        now = self.clock()
        since = self.last_success if self.last_success is not None else self.started
        yield GaugeMetricFamily(
            PREFIX + "poll_lag_seconds",
            "Seconds since the last successful poll (since start-up before the first one).",
            value=max(0.0, now - since),
        )
        if self.newest_event is not None:
            yield GaugeMetricFamily(
                PREFIX + "event_time_lag_seconds",
                "Wall-clock now minus the start time of the newest CDR seen.",
                value=now - self.newest_event,
            )


class Metrics:
    """Every metric the daemon records, with one typed method per thing that happened."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        account_cap: int = 200,
        clock: Callable[[], float] = time.time,
        version: str = __version__,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.accounts = AccountCollector(account_cap)
        self.lag = LagCollector(clock)
        self._build_ingest()
        self._build_poll()
        self._build_detection()
        self._build_state()
        self.registry.register(self.accounts)
        self.registry.register(self.lag)
        self.build_info(version)

    def _counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(PREFIX + name, doc, labels, registry=self.registry)

    def _gauge(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(PREFIX + name, doc, labels, registry=self.registry)

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
        self._late = self._counter("late_cdrs", "CDRs that arrived after their window closed.")
        self._api = self._counter("api_requests", "Partner API requests by outcome.", ("code",))

    def _build_poll(self) -> None:
        self._poll_duration = Histogram(
            PREFIX + "poll_cycle_duration_seconds",
            "Wall time of one poll cycle (fetch, detect, commit).",
            buckets=POLL_BUCKETS,
            registry=self.registry,
        )
        self._poll_cycles = self._counter("poll_cycles", "Poll cycles by outcome.", ("outcome",))
        for outcome in ("ok", "error"):
            self._poll_cycles.labels(outcome)
        self._last_poll = self._gauge(
            "last_successful_poll_timestamp_seconds", "Unix time of the last successful poll."
        )

    def _build_detection(self) -> None:
        self._findings = self._counter(
            "findings", "Findings from rules and models.", ("rule", "severity")
        )
        self._alerts = self._counter(
            "alerts", "Alert notifications emitted.", ("rule", "severity", "status")
        )
        self._notifications = self._counter(
            "notifications", "Delivery attempts by receiver and outcome.", ("receiver", "outcome")
        )
        self._outbox = self._gauge(
            "outbox_pending", "Notifications waiting in the outbox.", ("receiver",)
        )
        self._rules_loaded = self._gauge("rules_loaded", "Rules currently loaded.")
        self._reloads = self._counter("rule_reloads", "Rule reload attempts.", ("outcome",))
        for outcome in ("ok", "error"):
            self._reloads.labels(outcome)
        self._reload_ok = self._gauge(
            "rules_last_reload_success", "1 if the last rule reload succeeded, else 0."
        )
        self._reload_ok.set(1)

    def _build_state(self) -> None:
        self._accounts_tracked = self._gauge("accounts_tracked", "Accounts held in memory.")
        self._commit_duration = Histogram(
            PREFIX + "state_commit_duration_seconds",
            "Wall time of one state transaction.",
            buckets=COMMIT_BUCKETS,
            registry=self.registry,
        )
        self._commit_bytes = self._counter(
            "state_commit_bytes", "Bytes of account state written by commits."
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
        for table in ("sent_notifications", "resolved_alerts"):
            self._purged.labels(table)

    def cdrs_ingested(self, direction: str, status: str, n: int = 1) -> None:
        """Count accepted CDRs by direction and status."""
        self._ingested.labels(direction, status).inc(n)

    def cdrs_rejected(self, reason: str, n: int = 1) -> None:
        """Count rejected wire rows by `Rejected.reason`."""
        self._rejected.labels(reason).inc(n)

    def late_cdrs(self, n: int) -> None:
        """Count CDRs that arrived too late for their window."""
        self._late.inc(n)

    def api_request(self, code: str) -> None:
        """Count one partner API request by status code or failure kind."""
        self._api.labels(code).inc()

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

    def finding(self, rule: str, severity: str) -> None:
        """Count one finding."""
        self._findings.labels(rule, severity).inc()

    def alert(self, rule: str, severity: str, status: str) -> None:
        """Count one alert notification (firing or resolved)."""
        self._alerts.labels(rule, severity, status).inc()

    def notification(self, receiver: str, outcome: str, n: int = 1) -> None:
        """Count delivery attempts: sent, retry or dead."""
        self._notifications.labels(receiver, outcome).inc(n)

    def outbox_pending(self, receiver: str, n: int) -> None:
        """Set the outbox backlog of one receiver."""
        self._outbox.labels(receiver).set(n)

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

    def state_commit(self, duration_s: float, bytes_written: int) -> None:
        """Record one state transaction."""
        self._commit_duration.observe(duration_s)
        self._commit_bytes.inc(bytes_written)

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

    def account_cdrs(self, account: str, n: int = 1) -> None:
        """Count CDRs for one account (bounded per-account series)."""
        self.accounts.add_cdrs(account, n)

    def account_firing(self, account: str, n: int) -> None:
        """Set how many alerts are firing for one account."""
        self.accounts.set_firing(account, n)

    def forget_account(self, account: str) -> None:
        """Drop an evicted account from the per-account series."""
        self.accounts.forget(account)
