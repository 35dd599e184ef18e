"""The three Grafana dashboards, built from Python: fleet, account drill-down, detector health.

    python -m tools.dashboards      # rewrites grafana/dashboards/*.json

Why code: three dashboards of ~20 panels share their variables, datasource, layout and
conventions; written once here they cannot drift apart. `tests/test_dashboards.py` checks that
the JSON files are exactly what this module builds, and `tests/test_observability.py` that
every query parses and returns data from a real Prometheus scraping a real daemon.

Conventions: every panel has a description; every query filters on `$job` and `$instance`;
KPI panels read the shipped recording rules (`deploy/prometheus/alerts.yml`) or, for
week-over-week comparisons, the raw counters with `offset 1w`; lists of accounts are
`topk($topk, …)` of the capped per-account series, never all accounts. KPI definitions:
`detector/enrich/kpi.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.grafana import (
    ACC,
    DS,
    SEL,
    TOP,
    Panel,
    Q,
    account_variable,
    bars,
    dashboard,
    rate,
    ratio,
    recorded,
    series,
    stat,
    topk_variable,
    variables,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "grafana" / "dashboards"
P = "cdr_detector_"
DIR = "instance_direction:cdr_detector_"
ACCT = "instance_account:cdr_detector_"


def ner(selector: str, offset: str = "") -> str:
    """NER over the selection: (answered + user-side failures) / attempts, as in enrich.kpi;
    the per-account counters when the selector names an account."""
    kind = "account_" if "account=" in selector else ""
    attempts = P + ("account_cdrs_total" if kind else "call_attempts_total")
    answered = _rate(f"{P}{kind}calls_answered_total", selector, offset)
    user = _rate(f"{P}{kind}call_failures_total", selector + ', cause_class="user"', offset)
    return f"({answered} + {user}) / {_rate(attempts, selector, offset)}"


def _rate(metric: str, selector: str, offset: str = "") -> str:
    shift = f" offset {offset}" if offset else ""
    return f"sum(rate({metric}{{{selector}}}[$__rate_interval]{shift}))"


def week_over_week(title: str, description: str, now: str, before: str, unit: str) -> Panel:
    """This week's line and last week's at the same hours, for the selected account."""
    return series(title, description, Q(now, "this week"), Q(before, "last week"), unit=unit, w=8)


def account_ratio(numerator: str, denominator: str, offset: str = "") -> str:
    """A KPI ratio of the selected account's counters, optionally a week earlier."""
    return f"{_rate(P + numerator, ACC, offset)} / {_rate(P + denominator, ACC, offset)}"


def fleet_kpis() -> list[Panel]:
    """The fleet's KPIs, now and over time."""
    by_dir = "direction"
    return [
        stat("Attempts per second", "Call attempts (every CDR) per second, both directions.",
             f"sum({DIR}call_attempts:rate5m{{{SEL}}})", "cps"),
        stat("ASR", "Answer-seizure ratio: answered calls / attempts.",
             ratio(P + "calls_answered_total", P + "call_attempts_total"), "percentunit"),
        stat("ACD", "Average call duration: talk seconds / answered calls (also called ALOC).",
             ratio(P + "talk_seconds_total", P + "calls_answered_total"), "s"),
        stat("NER", "Network effectiveness ratio (ITU-T E.425): (answered + busy, no answer, "
             "rejected) / attempts.", ner(SEL), "percentunit"),
        stat("Short-call share", "Answered calls under 6 s of talk / answered calls; a high "
             "share suggests dialers or robocalls.",
             ratio(P + "short_calls_total", P + "calls_answered_total"), "percentunit"),
        stat("Spend per hour", "Call cost per hour at the current rate, by currency.",
             f"sum by (currency) (instance_direction_currency:cdr_detector_spend:rate5m"
             f"{{{SEL}}}) * 3600"),
        series("Attempts by direction", "Call attempts per second by direction (5-minute rate).",
               Q(recorded(DIR + "call_attempts:rate5m", by_dir), "{{direction}}"), unit="cps"),
        series("ASR and NER by direction", "ASR (answered / attempts) and NER ((answered + "
               "user-side failures) / attempts) by direction.",
               Q(recorded(DIR + "asr:ratio_rate5m", by_dir), "ASR {{direction}}"),
               Q(recorded(DIR + "ner:ratio_rate5m", by_dir), "NER {{direction}}"),
               unit="percentunit"),
        series("ACD and ring time by direction", "Average talk seconds per answered call, and "
               "average ring seconds per attempt.",
               Q(recorded(DIR + "acd_seconds:ratio_rate5m", by_dir), "ACD {{direction}}"),
               Q(recorded(DIR + "ring_seconds:ratio_rate5m", by_dir), "ring {{direction}}"),
               unit="s"),
        series("Short-call share by direction", "Answered calls under 6 s / answered calls.",
               Q(recorded(DIR + "short_call_share:ratio_rate5m", by_dir), "{{direction}}"),
               unit="percentunit"),
        series("Failures by cause class", "Unanswered calls per second by who or what ended "
               "them: user (busy, no answer), caller (cancel), number, barred, network, unknown.",
               Q(recorded("instance_direction_cause_class:cdr_detector_call_failures:rate5m",
                          "direction, cause_class"), "{{cause_class}} {{direction}}"),
               unit="cps"),
        series("Spend per hour by currency", "Call cost per hour, 5-minute rate, by currency "
               "and direction.",
               Q(recorded("instance_direction_currency:cdr_detector_spend:rate5m",
                          "direction, currency") + " * 3600", "{{currency}} {{direction}}")),
    ]  # fmt: skip


def fleet_findings() -> list[Panel]:
    """Findings and alerts across all accounts."""
    return [
        stat("Alerts firing", "Detector alerts firing now (rules and model, shadow excluded).",
             f"sum({P}alerts_firing{{{SEL}}}) or vector(0)"),
        stat("Accounts with firing alerts", "Accounts (within the metrics cap) that have at "
             "least one alert firing now.",
             f"count({P}account_firing_alerts{{{SEL}, {TOP}}} > 0) or vector(0)"),
        stat("Critical findings", "Critical findings over the dashboard's time range.",
             f'sum(increase({P}findings_total{{{SEL}, severity="critical"}}[$__range]))'),
        stat("Warning findings", "Warning findings over the dashboard's time range.",
             f'sum(increase({P}findings_total{{{SEL}, severity="warning"}}[$__range]))'),
        stat("Alerts fired", "Alert notifications that fired over the time range.",
             f'sum(increase({P}alerts_total{{{SEL}, status="firing"}}[$__range]))'),
        stat("Resolved", "Alert notifications that resolved over the time range.",
             f'sum(increase({P}alerts_total{{{SEL}, status="resolved"}}[$__range]))'),
        series("Findings by rule and severity", "Findings per second of the busiest rules.",
               Q(f"topk($topk, {rate(P + 'findings_total', by='rule, severity')})",
                 "{{rule}} {{severity}}"), unit="cps"),
        series("Alerts firing by rule", "Alerts firing now per rule and severity.",
               Q(f"sum by (rule, severity) ({P}alerts_firing{{{SEL}}})",
                 "{{rule}} {{severity}}")),
    ]  # fmt: skip


def fleet_accounts() -> list[Panel]:
    """The top accounts by anomaly score, spend, alerts and volume."""
    top = f"{SEL}, {TOP}"
    return [
        bars("Top accounts by anomaly score", "The model's calibrated score (0-1) of each "
             "account's last scored bucket; 1 is the most unusual an account has been.",
             Q(f"topk($topk, max by (account) ({P}account_anomaly_score{{{top}}}))",
               "{{account}}")),
        bars("Top accounts by spend per hour", "Spend per hour at the 5-minute rate, per "
             "account and currency.",
             Q(f"topk($topk, sum by (account, currency) "
               f"(instance_account_currency:cdr_detector_spend:rate5m{{{top}}}) * 3600)",
               "{{account}} {{currency}}")),
        bars("Top accounts by firing alerts", "Accounts with the most alerts firing now.",
             Q(f"topk($topk, sum by (account) ({P}account_firing_alerts{{{top}}}))",
               "{{account}}")),
        series("Attempts of the busiest accounts", "Call attempts per second of the top "
               "accounts by volume.",
               Q(f"topk($topk, sum by (account) ({ACCT}call_attempts:rate5m{{{top}}}))",
                 "{{account}}"), unit="cps"),
        series("ASR of the busiest accounts", "ASR of the top accounts by volume; a falling "
               "line on a busy account is worth a look.",
               Q(f"sum by (account) ({ACCT}asr:ratio_rate5m{{{top}}}) and on (account) "
                 f"topk($topk, sum by (account) ({ACCT}call_attempts:rate5m{{{top}}}))",
                 "{{account}}"), unit="percentunit"),
    ]  # fmt: skip


def account_panels() -> list[Panel]:
    """The selected account against its own last week."""
    week = "1w"
    return [
        stat("Attempts per second", "Call attempts per second (5-minute rate).",
             f"sum({ACCT}call_attempts:rate5m{{{ACC}}})", "cps"),
        stat("ASR", "Answered calls / attempts (5-minute rate).",
             f"sum({ACCT}asr:ratio_rate5m{{{ACC}}})", "percentunit"),
        stat("ACD", "Talk seconds / answered calls (5-minute rate).",
             f"sum({ACCT}acd_seconds:ratio_rate5m{{{ACC}}})", "s"),
        stat("NER", "(Answered + user-side failures) / attempts (5-minute rate).",
             f"sum({ACCT}ner:ratio_rate5m{{{ACC}}})", "percentunit"),
        stat("Short-call share", "Answered calls under 6 s / answered calls.",
             f"sum({ACCT}short_call_share:ratio_rate5m{{{ACC}}})", "percentunit"),
        stat("Alerts firing", "Detector alerts firing now for this account.",
             f"sum({P}alerts_firing{{{ACC}}}) or vector(0)"),
        week_over_week("Attempts: this week and last week", "Call attempts per second, and "
                       "the same hours one week earlier.",
                       _rate(P + "account_cdrs_total", ACC),
                       _rate(P + "account_cdrs_total", ACC, week), "cps"),
        week_over_week("ASR: this week and last week", "Answered / attempts, and one week "
                       "earlier.", account_ratio("account_calls_answered_total",
                                                 "account_cdrs_total"),
                       account_ratio("account_calls_answered_total", "account_cdrs_total",
                                     week), "percentunit"),
        week_over_week("ACD: this week and last week", "Talk seconds per answered call, and "
                       "one week earlier.", account_ratio("account_talk_seconds_total",
                                                      "account_calls_answered_total"),
                       account_ratio("account_talk_seconds_total",
                                     "account_calls_answered_total", week), "s"),
        week_over_week("NER: this week and last week", "(Answered + user-side failures) / "
                       "attempts, and one week earlier.", ner(ACC), ner(ACC, week),
                       "percentunit"),
        week_over_week("Short-call share: this week and last week", "Answered calls under "
                       "6 s / answered calls, and one week earlier.",
                       account_ratio("account_short_calls_total",
                                     "account_calls_answered_total"),
                       account_ratio("account_short_calls_total",
                                     "account_calls_answered_total", week), "percentunit"),
        week_over_week("Spend per hour: this week and last week", "Call cost per hour (all "
                       "currencies of the account summed; see the next panel per currency).",
                       _rate(P + "account_spend_total", ACC) + " * 3600",
                       _rate(P + "account_spend_total", ACC, week) + " * 3600", "short"),
        series("Spend per hour by currency", "Call cost per hour by currency.",
               Q(f"sum by (currency) (instance_account_currency:cdr_detector_spend:rate5m"
                 f"{{{ACC}}}) * 3600", "{{currency}}"), w=8),
        series("Failures by cause class", "Unanswered calls per second by cause class.",
               Q(rate(P + "account_call_failures_total", ACC, "cause_class"),
                 "{{cause_class}}"), unit="cps", w=8),
        series("Alerts firing by rule", "This account's firing alerts by rule and severity "
               "(also drawn as annotations on every panel).",
               Q(f"sum by (rule, severity) ({P}alerts_firing{{{ACC}}})",
                 "{{rule}} {{severity}}"), w=8),
        series("Anomaly score", "The model's calibrated score of the account's last scored "
               "bucket (0-1).", Q(f"max({P}account_anomaly_score{{{ACC}}})", "score"), w=24),
    ]  # fmt: skip


def account_annotations() -> list[dict[str, Any]]:
    """The account's detector alerts, drawn over every panel while they fire."""
    return [
        {
            "name": "Alerts",
            "datasource": DS,
            "enable": True,
            "iconColor": "red",
            "expr": f"sum by (rule, severity) ({P}alerts_firing{{{ACC}}}) > 0",
            "step": "60s",
            "titleFormat": "{{rule}} ({{severity}})",
            "tagKeys": "rule,severity",
            "textFormat": "alert firing for $account",
            "useValueForTime": False,
        }
    ]


def health_panels() -> list[tuple[str, list[Panel]]]:
    """The detector's own health, by concern."""
    q50, q95 = "histogram_quantile(0.5, ", "histogram_quantile(0.95, "
    poll_buckets = rate(P + "poll_cycle_duration_seconds_bucket", by="le")
    api_buckets = rate(P + "api_request_duration_seconds_bucket", by="le, endpoint")
    latency = rate(P + "detection_latency_seconds_bucket", by="le")
    commit = rate(P + "state_commit_duration_seconds_bucket", by="le")
    return [
        ("Now", [
            stat("Up", "1 when Prometheus can scrape every selected instance.",
                 f"min(up{{{SEL}}})", w=3),
            stat("Poll lag", "Seconds since the last successful poll.",
                 f"max({P}poll_lag_seconds{{{SEL}}})", "s", w=3),
            stat("Event-time lag", "Wall clock minus the start of the newest CDR seen "
                 "(NaN before the first).", f"max({P}event_time_lag_seconds{{{SEL}}})", "s",
                 w=3),
            stat("Accounts tracked", "Accounts held in memory.",
                 f"sum({P}accounts_tracked{{{SEL}}})", w=3),
            stat("Rules loaded", "Rules currently loaded.", f"sum({P}rules_loaded{{{SEL}}})",
                 w=3),
            stat("Last rule reload OK", "1 when the last reload succeeded; 0 means the "
                 "previous rules still run (see /readyz).",
                 f"min({P}rules_last_reload_success{{{SEL}}})", w=3),
            stat("Outbox backlog", "Notifications waiting for delivery, all receivers.",
                 f"sum({P}outbox_pending{{{SEL}}})", w=3),
            stat("Version", "Running versions (count of instances per version).",
                 f"count by (version) ({P}build_info{{{SEL}}})", w=3),
        ]),
        ("Feed", [
            series("Poll and event-time lag", "How far behind the feed the detector is.",
                   Q(f"max by (instance) ({P}poll_lag_seconds{{{SEL}}})", "poll {{instance}}"),
                   Q(f"max by (instance) ({P}event_time_lag_seconds{{{SEL}}})",
                     "event time {{instance}}"), unit="s"),
            series("Poll cycles by outcome", "Poll cycles per second, ok or error.",
                   Q(rate(P + "poll_cycles_total", by="outcome"), "{{outcome}}"), unit="cps"),
            series("Poll cycle duration", "Median and 95th percentile of one cycle's wall time.",
                   Q(q50 + poll_buckets + ")", "p50"), Q(q95 + poll_buckets + ")", "p95"),
                   unit="s"),
            series("Rows rejected and late CDRs", "Wire rows rejected per second by reason, "
                   "and CDRs later than their window.",
                   Q(rate(P + "cdrs_rejected_total", by="reason"), "{{reason}}"),
                   Q(rate(P + "late_cdrs_total"), "late"), unit="cps"),
        ]),
        ("Partner API", [
            series("API requests by code", "Partner API requests per second by HTTP status or "
                   "failure kind.", Q(rate(P + "api_requests_total", by="code"), "{{code}}"),
                   unit="reqps"),
            series("API request duration", "95th percentile of one request's wall time, by "
                   "endpoint.", Q(q95 + api_buckets + ")", "p95 {{endpoint}}"), unit="s"),
        ]),
        ("Detection", [
            series("Detection latency", "Event time of the call that tipped an alert to its "
                   "commit: median and 95th percentile (NaN while nothing fires).",
                   Q(q50 + latency + ")", "p50"), Q(q95 + latency + ")", "p95"), unit="s"),
            series("Findings and alerts", "Findings per second, and alert notifications by "
                   "status.", Q(rate(P + "findings_total"), "findings"),
                   Q(rate(P + "alerts_total", by="status"), "alerts {{status}}"), unit="cps"),
        ]),
        ("State and delivery", [
            series("State commits", "95th percentile commit time, and account states written "
                   "per second.", Q(q95 + commit + ")", "commit p95 (s)"),
                   Q(rate(P + "state_accounts_written_total"), "accounts written/s")),
            series("Outbox backlog by receiver", "Notifications waiting per receiver; 0 once "
                   "delivered.", Q(f"sum by (receiver) ({P}outbox_pending{{{SEL}}})",
                                   "{{receiver}}")),
            series("Notifications by receiver and outcome", "Delivery attempts per second: "
                   "sent, retry or dead (given up).",
                   Q(rate(P + "notifications_total", by="receiver, outcome"),
                     "{{receiver}} {{outcome}}"), unit="cps"),
            series("Rule reloads", "Rule reloads by outcome in each interval.",
                   Q(f"sum by (outcome) (increase({P}rule_reloads_total{{{SEL}}}"
                     "[$__rate_interval]))", "{{outcome}}")),
        ]),
        ("Process", [
            series("CPU", "CPU seconds per second used by the daemon process.",
                   Q(f"sum by (instance) (rate(process_cpu_seconds_total{{{SEL}}}"
                     "[$__rate_interval]))", "{{instance}}"), unit="percentunit", w=8),
            series("Memory", "Resident memory of the daemon process.",
                   Q(f"sum by (instance) (process_resident_memory_bytes{{{SEL}}})",
                     "{{instance}}"), unit="bytes", w=8),
            series("Open file descriptors", "Open file descriptors of the daemon process.",
                   Q(f"sum by (instance) (process_open_fds{{{SEL}}})", "{{instance}}"), w=8),
        ]),
    ]  # fmt: skip


def fleet() -> dict[str, Any]:
    """KPIs of the whole fleet, findings and alerts, and the top accounts."""
    return dashboard(
        "cdr-detector-fleet",
        "cdr-detector fleet",
        "Telecom KPIs of all traffic, fraud findings and alerts, and the top accounts.",
        variables(topk_variable()),
        [("KPIs", fleet_kpis()), ("Findings and alerts", fleet_findings()),
         ("Top accounts", fleet_accounts())],
    )  # fmt: skip


def account() -> dict[str, Any]:
    """One account's KPIs against its own last week, with its alerts as annotations."""
    return dashboard(
        "cdr-detector-account",
        "cdr-detector account",
        "One account ($account): its KPIs against the same hours last week, its failures, "
        "spend and alerts.",
        variables(account_variable()),
        [("Account $account", account_panels())],
        account_annotations(),
    )


def health() -> dict[str, Any]:
    """The detector itself: feed lag, partner API, cycles, outbox, reloads, process."""
    return dashboard(
        "cdr-detector-health",
        "cdr-detector health",
        "Is the detector keeping up? Feed lag, partner API, poll cycles, detection latency, "
        "state, delivery, rule reloads and the process.",
        variables(),
        health_panels(),
    )


def build() -> dict[str, dict[str, Any]]:
    """File name → dashboard for every shipped dashboard."""
    return {f"{d['uid']}.json": d for d in (fleet(), account(), health())}


def render(board: dict[str, Any]) -> str:
    """The JSON text of one dashboard as checked in."""
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write every dashboard and remove dashboards this module no longer builds."""
    boards = build()
    for path in OUT.glob("*.json"):
        if path.name not in boards:
            path.unlink()
    for name, board in boards.items():
        (OUT / name).write_text(render(board))


if __name__ == "__main__":
    main()
