"""`python -m bench.week [SEED …]`: the default pack on today's simulator's labelled week.

Kept for comparison with earlier figures; the quality yardstick is `python -m bench.quality`
(worlds the pack was never tuned on).

For each seed, generates a 7-day run of 500 accounts with the `week.yaml` scenario (every
incident type injected several times), replays it through the live `Detector` path rules-only
and rules + model, scores both with `detector.evaluation.evaluate`, and prints per type and
overall recall, precision, time to detect and false alerts per 1,000 clean account-days.
The model-only figures are the combined run's alerts from model sources alone.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from detector.assembly import build_detector
from detector.backtest import run_backtest
from detector.config import ModelSettings
from detector.evaluation import Incident, evaluate
from detector.simulate import SimOptions, generate, load_scenario, write_rows_jsonl

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
MODEL_PREFIX = "model:"
TARGET_RECALL = 0.95
TARGET_PRECISION = 0.90
TARGET_FALSE_PER_1000 = 1.0


@dataclass(frozen=True)
class Run:
    """One generated, labelled run on disk: the rows file, its incidents and its size."""

    rows: Path
    incidents: list[Incident]
    accounts: int
    span: timedelta


def week_scenario() -> Path:
    """Path of the packaged `week.yaml` scenario."""
    ref = resources.files("detector.simulate").joinpath("scenarios/week.yaml")
    return Path(str(ref))


def make_run(
    seed: int, directory: Path, *, accounts: int = 500, days: int = 7, scenario: Path | None = None
) -> Run:
    """Generate a labelled run into `directory` (rows JSONL) and return it."""
    options = SimOptions(
        accounts=accounts,
        duration=timedelta(days=days),
        seed=seed,
        scenario=load_scenario(scenario or week_scenario()),
    )
    traffic = generate(options)
    rows = directory / f"rows-{seed}-{accounts}-{days}d.jsonl"
    write_rows_jsonl(traffic, rows)
    incidents = [Incident(lb.account, lb.type, lb.start, lb.end) for lb in traffic.labels]
    return Run(rows, incidents, accounts, options.duration)


def replay(run: Run, *, model: bool, rules: Path = RULES) -> list[dict[str, Any]]:
    """The alert JSON objects a backtest of `run` raises, rules-only or rules + model."""
    # The model runs in shadow mode by default (its alerts are not scored); measure it live.
    detector = build_detector(rules, ModelSettings(enabled=model, mode="live"))
    return run_backtest(run.rows, detector).alerts


def score(run: Run, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """`evaluate` over the run's incidents, accounts and span."""
    return evaluate(alerts, run.incidents, accounts=run.accounts, span=run.span)


def model_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the alerts raised by the anomaly model."""
    return [a for a in alerts if str(a.get("rule", "")).startswith(MODEL_PREFIX)]


def meets_targets(report: dict[str, Any]) -> bool:
    """Whether every type has recall ≥ 95 %, precision ≥ 90 %, and false alerts ≤ 1/1,000."""
    for stats in report["by_type"].values():
        if stats["incidents"] and (stats["recall"] or 0.0) < TARGET_RECALL:
            return False
        if stats["alerts"] and (stats["precision"] or 0.0) < TARGET_PRECISION:
            return False
    return bool(report["overall"]["false_alerts_per_1000_account_days"] <= TARGET_FALSE_PER_1000)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"


def format_report(title: str, report: dict[str, Any]) -> str:
    """A table: one row per type, then overall and the false-alert rate."""
    head = f"{'type':20}{'incidents':>10}{'recall':>8}{'alerts':>8}{'precision':>10}"
    lines = [title, head + f"{'TTD med':>9}{'TTD p95':>9}"]
    rows = [*report["by_type"].items(), ("OVERALL", report["overall"])]
    for name, s in rows:
        lines.append(
            f"{name:20}{s['incidents']:>10}{_pct(s['recall']):>8}{s['alerts']:>8}"
            f"{_pct(s['precision']):>10}{_secs(s['ttd_median_s']):>9}{_secs(s['ttd_p95_s']):>9}"
        )
    rate = report["overall"]["false_alerts_per_1000_account_days"]
    verdict = "meets" if meets_targets(report) else "MISSES"
    lines.append(f"false alerts per 1,000 clean account-days: {rate:.2f}  ({verdict} targets)")
    return "\n".join(lines)


def measure(run: Run, *, model: bool = True) -> dict[str, dict[str, Any]]:
    """Scores for rules-only, and (when `model`) rules + model and model-only."""
    out = {"rules only": score(run, replay(run, model=False))}
    if model:
        both = replay(run, model=True)
        out["rules + model"] = score(run, both)
        out["model only"] = score(run, model_alerts(both))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Print the quality tables for each seed given (default: seeds 1 and 2)."""
    parser = argparse.ArgumentParser(prog="python -m bench.week", description=__doc__)
    parser.add_argument("seeds", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--no-model", action="store_true", help="rules-only run only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            run = make_run(seed, Path(tmp), accounts=args.accounts, days=args.days)
            for title, report in measure(run, model=not args.no_model).items():
                head = f"seed {seed}, {args.accounts} accounts x {args.days} d, {title}"
                print(format_report(head, report), end="\n\n")


if __name__ == "__main__":
    main()
