"""`cdr-detector backtest`: run the replay, score it against labels, print text or JSON."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from detector.assembly import build_detector
from detector.backtest import BacktestResult, run_backtest
from detector.config import ModelSettings
from detector.errors import ConfigError
from detector.evaluation import evaluate, load_labels
from detector.pipeline import Detector
from detector.simulate.scenario import parse_span

DETECTORS = ("rules", "models", "all")


def backtest_command(
    input_file: Path,
    rules: Path,
    out: Path | None,
    labels: Path | None,
    fmt: str,
    detectors: str = "all",
    settle: str = "0s",
) -> None:
    """Replay `input_file`, optionally write alerts and score them, and print a summary;
    `detectors`: rules, models or all."""
    if fmt not in ("text", "json"):
        raise ConfigError(f"--format must be 'text' or 'json', not {fmt!r}")
    if detectors not in DETECTORS:
        raise ConfigError(f"--detectors must be one of {', '.join(DETECTORS)}, not {detectors!r}")
    try:
        settle_for = parse_span(settle)
    except ValueError as exc:
        raise ConfigError(f"--settle: {exc}") from exc
    detector = build_detector(rules, ModelSettings(), detectors=detectors)
    with contextlib.ExitStack() as stack:
        sink: IO[str] | None = stack.enter_context(out.open("w")) if out else None
        progress = fmt == "text" and sys.stderr.isatty()
        result = _run(input_file, detector, sink, settle_for, show_progress=progress)
    scores = None
    if labels is not None:
        scores = evaluate(
            result.alerts,
            load_labels(labels),
            accounts=max(len(result.accounts), 1),
            span=result.span,
        )
    if fmt == "json":
        body: dict[str, Any] = dict(scores or {})
        body["throughput_cdr_per_s"] = round(result.throughput())
        body["summary"] = _summary(result)
        sys.stdout.write(json.dumps(body, indent=2, default=str) + "\n")
    else:
        _print_text(result, scores)


def _run(
    path: Path, detector: Detector, sink: IO[str] | None, settle: timedelta, *, show_progress: bool
) -> BacktestResult:
    if not show_progress:
        return run_backtest(path, detector, sink, settle=settle)
    columns = (
        TextColumn("replaying"),
        BarColumn(),
        TextColumn("{task.completed:,} CDRs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("replay", total=None)
        return run_backtest(
            path, detector, sink, progress=lambda n: bar.advance(task, n), settle=settle
        )


def _summary(result: BacktestResult) -> dict[str, Any]:
    firing = [a for a in result.alerts if a["status"] == "firing"]
    return {
        "cdrs": result.cdrs,
        "rejected": dict(result.rejected),
        "accounts": len(result.accounts),
        "span_hours": round(result.span.total_seconds() / 3600, 2),
        "alerts_firing": len(firing),
        "alerts_resolved": len(result.alerts) - len(firing),
        "alerted_accounts": sorted({a["account"] for a in firing}),
        "findings_by_source": dict(result.findings),
    }


def _print_text(result: BacktestResult, scores: dict[str, Any] | None) -> None:
    console = Console()
    s = _summary(result)
    console.print(
        f"{s['cdrs']:,} CDRs over {s['span_hours']} h from {s['accounts']} accounts "
        f"({sum(result.rejected.values())} rejected) at {result.throughput():,.0f} CDR/s; "
        f"{s['alerts_firing']} alerts fired on {len(s['alerted_accounts'])} accounts"
    )
    by_rule = Table("rule / model", "alerts", "accounts", title="Alerts")
    rules = sorted({a["rule"] for a in result.alerts if a["status"] == "firing"})
    for rule in rules:
        mine = [a for a in result.alerts if a["rule"] == rule and a["status"] == "firing"]
        by_rule.add_row(rule, str(len(mine)), ", ".join(sorted({a["account"] for a in mine}))[:80])
    console.print(by_rule)
    if scores:
        console.print(_score_table(scores))


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if pct else f"{value:,.0f}"


def _score_table(scores: dict[str, Any]) -> Table:
    table = Table("type", "incidents", "recall", "alerts", "precision", "ttd median s", "ttd p95 s",
                  title="Quality against labels")  # fmt: skip
    rows = [*scores["by_type"].items(), ("overall", scores["overall"])]
    for name, s in rows:
        table.add_row(
            name, str(s["incidents"]), _fmt(s["recall"], True), str(s["alerts"]),
            _fmt(s["precision"], True), _fmt(s["ttd_median_s"]), _fmt(s["ttd_p95_s"]),
        )  # fmt: skip
    fa = scores["overall"]["false_alerts_per_1000_account_days"]
    table.caption = f"false alerts per 1,000 clean account-days: {fa:.2f}"
    return table
