"""Metrics: exact exposition from a fresh registry, series from the start, KPI counters that
agree with `enrich.kpi`, bounded account series that never go down, promtool-clean text."""

from __future__ import annotations

import math
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from detector.alerting.policy import AlertsState, Phase, Track
from detector.domain import CDR, REJECT_REASONS, Alert, AlertStatus, Direction, Finding, Severity
from detector.domain import Status as S
from detector.enrich.kpi import FAILURE_CLASSES, Tally
from detector.metrics import OTHER_ACCOUNT, Metrics, firing_by_rule

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    """A settable clock for scrape-time values."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def exposition(metrics: Metrics, *names: str) -> str:
    """The exposition lines of the named samples (HELP and TYPE included), in registry order."""
    text = generate_latest(metrics.registry).decode()
    return "".join(line + "\n" for line in text.splitlines() if _sample_name(line) in names)


def _sample_name(line: str) -> str:
    """The metric name a line of text exposition is about."""
    if line.startswith("#"):
        return line.split(" ")[2]
    return line.split("{", 1)[0].split(" ", 1)[0]


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the registry keyed by (name, labels)."""
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    """One sample's value; KeyError when the series does not exist."""
    return samples(metrics)[name, frozenset(labels.items())]


def call(
    account: str = "MA_1",
    status: S = S.ANSWERED,
    *,
    talk: float = 60.0,
    ring: float = 5.0,
    cost: float = 1.0,
    cause: str = "",
    direction: Direction = Direction.OUTBOUND,
) -> CDR:
    """A CDR with the fields the KPI counters read."""
    return CDR(
        "c", account, direction, status, T0, None, T0, talk if status is S.ANSWERED else 0.0,
        ring, "+911234567890", "+919876543210", hangup_cause=cause, cost=cost, currency="INR",
    )  # fmt: skip


def exercised(clock: Clock | None = None, account_cap: int = 200) -> Metrics:
    """A Metrics instance with every method called once."""
    m = Metrics(CollectorRegistry(), account_cap=account_cap, clock=clock or Clock(1000.0))
    m.receivers(["slack"])
    m.rules(["robocall"])
    m.calls([call(), call(status=S.FAILED, cause="SWITCH_CONGESTION", cost=0.0)])
    m.cdrs_rejected("bad_time")
    m.late_cdrs(2)
    m.api_request("cdrs", "200", 0.2)
    m.api_request("cdrs", "429", 0.1)
    m.poll_interval(10.0)
    m.poll_cycle(0.3, ok=True, now=990.0, newest_event_ts=900.0)
    m.finding("robocall", "warning")
    m.alert(alert("robocall", Severity.WARNING, AlertStatus.FIRING), now=T0.timestamp() + 90)
    m.alert_state("MA_1", {("robocall", "warning"): 1})
    m.anomaly_score("MA_1", 0.42)
    m.notification("slack", "sent")
    m.outbox({"slack": 4})
    m.accounts_tracked(7)
    m.rules_loaded(12)
    m.rule_reload(ok=True)
    m.state_commit(0.02, 3)
    return m


def alert(rule: str, severity: Severity, status: AlertStatus, *, shadow: bool = False) -> Alert:
    """An alert notification at T0."""
    return Alert(
        "fp", "fp:1", rule, "MA_1", severity, status, T0, T0, "summary", 1.0, 1.0, (),
        shadow=shadow,
    )  # fmt: skip


def test_fresh_registry_exposes_zeroed_known_series() -> None:
    """A fresh Metrics exposes known label sets at zero and poll lag since start-up."""
    clock = Clock(1000.0)
    m = Metrics(CollectorRegistry(), clock=clock, version="1.2.3")
    clock.now = 1042.0
    names = (
        "cdr_detector_poll_cycles_total",
        "cdr_detector_rules_last_reload_success",
        "cdr_detector_build_info",
        "cdr_detector_poll_lag_seconds",
        "cdr_detector_account_cdrs_total",
        "cdr_detector_late_cdrs_total",
    )
    assert exposition(m, *names) == (
        "# HELP cdr_detector_late_cdrs_total CDRs that arrived after their window closed.\n"
        "# TYPE cdr_detector_late_cdrs_total counter\n"
        "cdr_detector_late_cdrs_total 0.0\n"
        "# HELP cdr_detector_poll_cycles_total Poll cycles by outcome.\n"
        "# TYPE cdr_detector_poll_cycles_total counter\n"
        'cdr_detector_poll_cycles_total{outcome="ok"} 0.0\n'
        'cdr_detector_poll_cycles_total{outcome="error"} 0.0\n'
        "# HELP cdr_detector_rules_last_reload_success "
        "1 if the last rule reload succeeded, else 0.\n"
        "# TYPE cdr_detector_rules_last_reload_success gauge\n"
        "cdr_detector_rules_last_reload_success 1.0\n"
        "# HELP cdr_detector_build_info Build information; the value is always 1.\n"
        "# TYPE cdr_detector_build_info gauge\n"
        'cdr_detector_build_info{version="1.2.3"} 1.0\n'
        "# HELP cdr_detector_account_cdrs_total CDRs (call attempts) per account "
        "(top accounts).\n"
        "# TYPE cdr_detector_account_cdrs_total counter\n"
        'cdr_detector_account_cdrs_total{account="_other"} 0.0\n'
        "# HELP cdr_detector_poll_lag_seconds Seconds since the last successful poll "
        "(since start-up before the first one).\n"
        "# TYPE cdr_detector_poll_lag_seconds gauge\n"
        "cdr_detector_poll_lag_seconds 42.0\n"
    )


def test_label_values_known_in_advance_exist_at_zero() -> None:
    """Rejection reasons, API codes and endpoints, KPI labels, receivers and rules start at 0."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.receivers(["slack", "webhook"])
    m.rules(["robocall", "model:account-behaviour"])
    for reason in REJECT_REASONS:
        assert value(m, "cdr_detector_cdrs_rejected_total", reason=reason) == 0
    for code in ("200", "429", "500", "timeout"):
        assert value(m, "cdr_detector_api_requests_total", code=code) == 0
    for endpoint in ("cdrs", "account_cdrs", "accounts", "call"):
        assert value(m, "cdr_detector_api_request_duration_seconds_count", endpoint=endpoint) == 0
    for direction in ("inbound", "outbound"):
        assert value(m, "cdr_detector_call_attempts_total", direction=direction) == 0
        assert value(m, "cdr_detector_spend_total", direction=direction, currency="INR") == 0
        for cls in FAILURE_CLASSES:
            labels = {"direction": direction, "cause_class": cls.value}
            assert value(m, "cdr_detector_call_failures_total", **labels) == 0
    for receiver in ("slack", "webhook"):
        assert value(m, "cdr_detector_outbox_pending", receiver=receiver) == 0
        for outcome in ("sent", "retry", "dead"):
            labels = {"receiver": receiver, "outcome": outcome}
            assert value(m, "cdr_detector_notifications_total", **labels) == 0
    for rule in ("robocall", "model:account-behaviour"):
        for severity in ("warning", "critical"):
            assert value(m, "cdr_detector_findings_total", rule=rule, severity=severity) == 0
            labels = {"rule": rule, "severity": severity, "account": OTHER_ACCOUNT}
            assert value(m, "cdr_detector_alerts_firing", **labels) == 0
            for status in ("firing", "resolved"):
                labels = {"rule": rule, "severity": severity, "status": status}
                assert value(m, "cdr_detector_alerts_total", **labels) == 0


def test_no_created_series_and_process_collectors_present() -> None:
    """`_created` series are off; process and platform collectors are registered."""
    text = generate_latest(exercised().registry).decode()
    assert "_created" not in text
    assert "\nprocess_resident_memory_bytes " in text
    assert "\npython_info{" in text


def test_event_lag_is_nan_until_a_cdr_is_seen() -> None:
    """Without any CDR there is no newest event time: the event-time lag exists, as NaN."""
    m = Metrics(CollectorRegistry(), clock=Clock(1000.0))
    assert math.isnan(value(m, "cdr_detector_event_time_lag_seconds"))


def test_poll_cycle_records_counts_timestamps_and_lags() -> None:
    """A successful poll sets the timestamp; lags are computed from the clock at scrape time."""
    clock = Clock(1000.0)
    m = Metrics(CollectorRegistry(), clock=clock)
    m.poll_cycle(0.3, ok=True, now=990.0, newest_event_ts=900.0)
    m.poll_cycle(0.1, ok=False, now=995.0, newest_event_ts=None)
    clock.now = 1010.0
    assert exposition(
        m,
        "cdr_detector_poll_cycles_total",
        "cdr_detector_last_successful_poll_timestamp_seconds",
        "cdr_detector_poll_lag_seconds",
        "cdr_detector_event_time_lag_seconds",
    ) == (
        "# HELP cdr_detector_poll_cycles_total Poll cycles by outcome.\n"
        "# TYPE cdr_detector_poll_cycles_total counter\n"
        'cdr_detector_poll_cycles_total{outcome="ok"} 1.0\n'
        'cdr_detector_poll_cycles_total{outcome="error"} 1.0\n'
        "# HELP cdr_detector_last_successful_poll_timestamp_seconds "
        "Unix time of the last successful poll.\n"
        "# TYPE cdr_detector_last_successful_poll_timestamp_seconds gauge\n"
        "cdr_detector_last_successful_poll_timestamp_seconds 990.0\n"
        "# HELP cdr_detector_poll_lag_seconds Seconds since the last successful poll "
        "(since start-up before the first one).\n"
        "# TYPE cdr_detector_poll_lag_seconds gauge\n"
        "cdr_detector_poll_lag_seconds 20.0\n"
        "# HELP cdr_detector_event_time_lag_seconds "
        "Wall-clock now minus the start time of the newest CDR seen (NaN before the first).\n"
        "# TYPE cdr_detector_event_time_lag_seconds gauge\n"
        "cdr_detector_event_time_lag_seconds 110.0\n"
    )


def test_kpi_counters_agree_with_the_kpi_tally() -> None:
    """Per direction and per account, the counters hold exactly what `enrich.kpi.Tally` sums."""
    cdrs = [
        call(talk=300.0, cost=2.5),
        call(talk=3.0, cost=0.1),
        call(status=S.NO_ANSWER, ring=30.0, cost=0.0),
        call(status=S.FAILED, cause="UNALLOCATED_NUMBER", cost=0.0),
        call("MA_2", S.BUSY, cost=0.0, direction=Direction.INBOUND),
    ]
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.calls(cdrs)
    out = Tally()
    for cdr in cdrs[:4]:
        out.add(cdr)
    d = {"direction": "outbound"}
    assert value(m, "cdr_detector_call_attempts_total", **d) == out.attempts == 4
    assert value(m, "cdr_detector_calls_answered_total", **d) == out.answered == 2
    assert value(m, "cdr_detector_talk_seconds_total", **d) == out.talk_s == 303.0
    assert value(m, "cdr_detector_ring_seconds_total", **d) == out.ring_s
    assert value(m, "cdr_detector_short_calls_total", **d) == out.short == 1
    assert value(m, "cdr_detector_spend_total", currency="INR", **d) == pytest.approx(2.6)
    for cls in FAILURE_CLASSES:
        got = value(m, "cdr_detector_call_failures_total", cause_class=cls.value, **d)
        assert got == out.by_class.get(cls, 0), cls
    assert value(m, "cdr_detector_call_failures_total", direction="inbound", cause_class="user")
    assert value(m, "cdr_detector_cdrs_ingested_total", status="answered", **d) == 2
    a = {"account": "MA_1"}
    assert value(m, "cdr_detector_account_cdrs_total", **a) == 4
    assert value(m, "cdr_detector_account_calls_answered_total", **a) == 2
    assert value(m, "cdr_detector_account_talk_seconds_total", **a) == 303.0
    assert value(m, "cdr_detector_account_short_calls_total", **a) == 1
    assert value(m, "cdr_detector_account_spend_total", currency="INR", **a) == pytest.approx(2.6)
    assert value(m, "cdr_detector_account_call_failures_total", cause_class="number", **a) == 1


def test_counters_carry_their_labels() -> None:
    """Rejection, API, finding, alert, notification and state series count per label set."""
    text = generate_latest(exercised().registry).decode().splitlines()
    for line in (
        'cdr_detector_cdrs_rejected_total{reason="bad_time"} 1.0',
        "cdr_detector_late_cdrs_total 2.0",
        'cdr_detector_api_requests_total{code="429"} 1.0',
        'cdr_detector_api_request_duration_seconds_count{endpoint="cdrs"} 2.0',
        'cdr_detector_findings_total{rule="robocall",severity="warning"} 1.0',
        'cdr_detector_alerts_total{rule="robocall",severity="warning",status="firing"} 1.0',
        'cdr_detector_alerts_firing{account="MA_1",rule="robocall",severity="warning"} 1.0',
        'cdr_detector_account_firing_alerts{account="MA_1"} 1.0',
        'cdr_detector_account_anomaly_score{account="MA_1"} 0.42',
        'cdr_detector_notifications_total{outcome="sent",receiver="slack"} 1.0',
        'cdr_detector_outbox_pending{receiver="slack"} 4.0',
        "cdr_detector_poll_interval_seconds 10.0",
        "cdr_detector_accounts_tracked 7.0",
        "cdr_detector_rules_loaded 12.0",
        "cdr_detector_state_accounts_written_total 3.0",
        "cdr_detector_state_commit_duration_seconds_count 1.0",
    ):
        assert line in text, line


def test_an_outbox_that_drains_reads_zero() -> None:
    """A receiver whose backlog drained is set back to 0, not left at its last value."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.receivers(["slack", "email"])
    m.outbox({"slack": 3, "email": 1})
    m.outbox({})
    assert value(m, "cdr_detector_outbox_pending", receiver="slack") == 0
    assert value(m, "cdr_detector_outbox_pending", receiver="email") == 0


def test_detection_latency_counts_firing_alerts_that_notify() -> None:
    """A firing alert observes now - its event time; resolved and shadow ones do not count."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    now = (T0 + timedelta(seconds=100)).timestamp()
    m.alert(alert("r", Severity.CRITICAL, AlertStatus.FIRING), now)
    m.alert(alert("r", Severity.CRITICAL, AlertStatus.RESOLVED), now)
    m.alert(alert("r", Severity.CRITICAL, AlertStatus.FIRING, shadow=True), now)
    assert value(m, "cdr_detector_detection_latency_seconds_count") == 1
    assert value(m, "cdr_detector_detection_latency_seconds_sum") == 100.0
    assert value(m, "cdr_detector_detection_latency_seconds_bucket", le="60.0") == 0
    assert value(m, "cdr_detector_detection_latency_seconds_bucket", le="120.0") == 1


def test_alert_state_of_an_account_returns_to_zero_when_it_resolves() -> None:
    """The account's own series leaves when nothing fires; `_other` stays at 0 for known rules."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.rules(["robocall"])
    m.alert_state("MA_1", {("robocall", "critical"): 2})
    both = {"rule": "robocall", "severity": "critical"}
    assert value(m, "cdr_detector_alerts_firing", account="MA_1", **both) == 2
    m.alert_state("MA_1", {})
    with pytest.raises(KeyError):
        value(m, "cdr_detector_alerts_firing", account="MA_1", **both)
    assert value(m, "cdr_detector_alerts_firing", account=OTHER_ACCOUNT, **both) == 0


def _track(source: str, phase: Phase, severity: Severity, *, shadow: bool = False) -> Track:
    finding = Finding(source, "MA_1", "MA_1", severity, 1.0, 1.0, 60.0, T0, "s", shadow=shadow)
    return Track(source + phase, phase, T0, T0, finding, severity, 1)


def test_firing_by_rule_counts_firing_tracks_without_shadow() -> None:
    """Only firing fingerprints count, by rule and severity; pending and shadow ones do not."""
    state = AlertsState(
        open={
            "a": _track("robocall", Phase.FIRING, Severity.CRITICAL),
            "b": _track("robocall", Phase.FIRING, Severity.CRITICAL),
            "c": _track("wangiri", Phase.PENDING, Severity.WARNING),
            "d": _track("model", Phase.FIRING, Severity.WARNING, shadow=True),
        }
    )
    assert firing_by_rule(state) == {("robocall", "critical"): 2}


def test_failed_rule_reload_clears_the_success_gauge() -> None:
    """A failed reload sets the success gauge to 0 and counts an error outcome."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.rule_reload(ok=False)
    text = generate_latest(m.registry).decode().splitlines()
    assert "cdr_detector_rules_last_reload_success 0.0" in text
    assert 'cdr_detector_rule_reloads_total{outcome="error"} 1.0' in text


def test_two_instances_do_not_share_a_registry() -> None:
    """Each Metrics owns its registry, so two can be created side by side."""
    a, b = Metrics(clock=Clock(0.0)), Metrics(clock=Clock(0.0))
    a.late_cdrs(5)
    assert "cdr_detector_late_cdrs_total 0.0" in generate_latest(b.registry).decode()


def test_promtool_check_metrics_is_clean() -> None:
    """`promtool check metrics` finds nothing to complain about in a full exposition."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    body = generate_latest(exercised().registry)
    done = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == b""
    assert done.stderr.strip() == b""


def account_cdrs(m: Metrics) -> dict[str, float]:
    """`cdr_detector_account_cdrs_total` by account."""
    return {
        dict(labels)["account"]: v
        for (name, labels), v in samples(m).items()
        if name == "cdr_detector_account_cdrs_total"
    }


@pytest.mark.parametrize(
    ("cdrs", "firing", "cap", "expected"),
    [
        # busiest first when nothing fires
        ({"A": 10, "B": 30, "C": 20}, {}, 2, {"B": 30, "C": 20, OTHER_ACCOUNT: 10}),
        # a firing account beats a busier quiet one
        ({"A": 1, "B": 30, "C": 20}, {"A"}, 2, {"A": 1, "B": 30, OTHER_ACCOUNT: 20}),
        # cap 0 folds everything into _other
        ({"A": 1, "B": 2}, {}, 0, {OTHER_ACCOUNT: 3}),
        # under the cap, nothing is folded
        ({"A": 1}, {}, 5, {"A": 1, OTHER_ACCOUNT: 0}),
    ],
)
def test_account_series_are_capped(
    cdrs: dict[str, int], firing: set[str], cap: int, expected: dict[str, int]
) -> None:
    """Firing accounts first, then the busiest, up to the cap; the rest sums into _other."""
    m = Metrics(CollectorRegistry(), account_cap=cap, clock=Clock(0.0))
    for account in firing:
        m.alert_state(account, {("r", "critical"): 1})
    m.calls([call(account) for account, n in cdrs.items() for _ in range(n)])
    assert account_cdrs(m) == expected


def test_account_counters_never_go_down_when_the_top_set_changes() -> None:
    """An account entering the set starts its own series at 0; `_other` keeps what it had."""
    m = Metrics(CollectorRegistry(), account_cap=1, clock=Clock(0.0))
    m.calls([call("A")] * 5 + [call("B")] * 2)
    assert account_cdrs(m) == {"A": 5, OTHER_ACCOUNT: 2}
    m.calls([call("B")] * 10)
    assert account_cdrs(m) == {"B": 10, OTHER_ACCOUNT: 2}
    m.calls([call("A")] * 20)
    assert account_cdrs(m) == {"A": 25, OTHER_ACCOUNT: 2}


def test_alert_state_beyond_the_cap_is_summed_into_other() -> None:
    """Firing alerts of accounts outside the cap are summed into `_other` by rule."""
    m = Metrics(CollectorRegistry(), account_cap=1, clock=Clock(0.0))
    m.rules(["r"])
    for account in ("A", "B", "C"):
        m.alert_state(account, {("r", "critical"): 1})
    both = {"rule": "r", "severity": "critical"}
    assert value(m, "cdr_detector_alerts_firing", account="A", **both) == 1
    assert value(m, "cdr_detector_alerts_firing", account=OTHER_ACCOUNT, **both) == 2


def test_account_series_never_carry_phone_numbers() -> None:
    """An account id that looks like a phone number is exposed as a redacted label."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.calls([call("+44 20 7946 0958")] * 2)
    accounts = account_cdrs(m)
    assert accounts == {"_redacted": 2, OTHER_ACCOUNT: 0}
    assert "7946" not in " ".join(accounts)


def test_forgotten_accounts_leave_the_series() -> None:
    """An evicted account stops being exposed and stops counting toward firing totals."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.calls([call("MA_1")] * 2)
    m.alert_state("MA_1", {("r", "critical"): 1})
    m.anomaly_score("MA_1", 0.9)
    m.forget_account("MA_1")
    assert "MA_1" not in generate_latest(m.registry).decode()
    assert m.accounts.selected() == []
