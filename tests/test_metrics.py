"""Metrics: exact exposition from a fresh registry, promtool-clean text, bounded account series."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from detector.metrics import OTHER_ACCOUNT, Metrics


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


def exercised(clock: Clock | None = None, account_cap: int = 200) -> Metrics:
    """A Metrics instance with every method called once."""
    m = Metrics(CollectorRegistry(), account_cap=account_cap, clock=clock or Clock(1000.0))
    m.cdrs_ingested("outbound", "answered", 3)
    m.cdrs_rejected("bad_time")
    m.late_cdrs(2)
    m.api_request("200")
    m.api_request("429")
    m.poll_cycle(0.3, ok=True, now=990.0, newest_event_ts=900.0)
    m.finding("robocall", "warning")
    m.alert("robocall", "warning", "firing")
    m.notification("slack", "sent")
    m.outbox_pending("slack", 4)
    m.accounts_tracked(7)
    m.rules_loaded(12)
    m.rule_reload(ok=True)
    m.state_commit(0.02, 2048)
    m.account_cdrs("MA_1", 3)
    m.account_firing("MA_1", 1)
    return m


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
        "# HELP cdr_detector_account_cdrs_total CDRs ingested per account (top accounts).\n"
        "# TYPE cdr_detector_account_cdrs_total counter\n"
        'cdr_detector_account_cdrs_total{account="_other"} 0.0\n'
        "# HELP cdr_detector_poll_lag_seconds Seconds since the last successful poll "
        "(since start-up before the first one).\n"
        "# TYPE cdr_detector_poll_lag_seconds gauge\n"
        "cdr_detector_poll_lag_seconds 42.0\n"
    )


def test_fresh_registry_hides_event_lag_until_a_cdr_is_seen() -> None:
    """Without any CDR there is no newest event time, so the event-time lag is not exposed."""
    m = Metrics(CollectorRegistry(), clock=Clock(1000.0))
    assert "cdr_detector_event_time_lag_seconds" not in generate_latest(m.registry).decode()


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
        "Wall-clock now minus the start time of the newest CDR seen.\n"
        "# TYPE cdr_detector_event_time_lag_seconds gauge\n"
        "cdr_detector_event_time_lag_seconds 110.0\n"
    )


def test_counters_carry_their_labels() -> None:
    """Ingest, rejection, API, finding, alert and notification counters count per label set."""
    m = exercised()
    text = generate_latest(m.registry).decode()
    for line in (
        'cdr_detector_cdrs_ingested_total{direction="outbound",status="answered"} 3.0',
        'cdr_detector_cdrs_ingested_total{direction="inbound",status="no_answer"} 0.0',
        'cdr_detector_cdrs_rejected_total{reason="bad_time"} 1.0',
        "cdr_detector_late_cdrs_total 2.0",
        'cdr_detector_api_requests_total{code="429"} 1.0',
        'cdr_detector_findings_total{rule="robocall",severity="warning"} 1.0',
        'cdr_detector_alerts_total{rule="robocall",severity="warning",status="firing"} 1.0',
        'cdr_detector_notifications_total{outcome="sent",receiver="slack"} 1.0',
        'cdr_detector_outbox_pending{receiver="slack"} 4.0',
        "cdr_detector_accounts_tracked 7.0",
        "cdr_detector_rules_loaded 12.0",
        "cdr_detector_state_commit_bytes_total 2048.0",
        "cdr_detector_state_commit_duration_seconds_count 1.0",
        'cdr_detector_account_firing_alerts{account="MA_1"} 1.0',
    ):
        assert line in text.splitlines(), line


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


@pytest.mark.parametrize(
    ("cdrs", "firing", "cap", "expected"),
    [
        # busiest first when nothing fires
        ({"A": 10, "B": 30, "C": 20}, {}, 2, {"B": 30, "C": 20, OTHER_ACCOUNT: 10}),
        # a firing account beats a busier quiet one
        ({"A": 1, "B": 30, "C": 20}, {"A": 1}, 2, {"A": 1, "B": 30, OTHER_ACCOUNT: 20}),
        # cap 0 folds everything into _other
        ({"A": 1, "B": 2}, {}, 0, {OTHER_ACCOUNT: 3}),
        # under the cap, nothing is folded
        ({"A": 1}, {}, 5, {"A": 1, OTHER_ACCOUNT: 0}),
    ],
)
def test_account_series_are_capped(
    cdrs: dict[str, int], firing: dict[str, int], cap: int, expected: dict[str, int]
) -> None:
    """Firing accounts first, then the busiest, up to the cap; the rest sums into _other."""
    m = Metrics(CollectorRegistry(), account_cap=cap, clock=Clock(0.0))
    for account, n in cdrs.items():
        m.account_cdrs(account, n)
    for account, n in firing.items():
        m.account_firing(account, n)
    got = {
        s.labels["account"]: s.value
        for metric in m.accounts.collect()
        if metric.name == "cdr_detector_account_cdrs"
        for s in metric.samples
    }
    assert got == expected


def test_account_series_never_carry_phone_numbers() -> None:
    """An account id that looks like a phone number is exposed as a redacted label."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.account_cdrs("+44 20 7946 0958", 2)
    text = generate_latest(m.registry).decode()
    assert "7946" not in text
    assert 'cdr_detector_account_cdrs_total{account="_redacted"} 2.0' in text


def test_forgotten_accounts_leave_the_series() -> None:
    """An evicted account stops being exposed and stops counting toward firing totals."""
    m = Metrics(CollectorRegistry(), clock=Clock(0.0))
    m.account_cdrs("MA_1", 2)
    m.account_firing("MA_1", 1)
    m.forget_account("MA_1")
    assert "MA_1" not in generate_latest(m.registry).decode()
    assert m.accounts.selected() == []
