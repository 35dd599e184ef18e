"""`python -m bench.models`: what the anomaly model costs and what it adds to the rules.

`cost [ACCOUNTS HOURS]` (the default) generates a deterministic simulator file, replays it
through the live `Detector` (rules + model), then through the model alone on the same CDRs
and batches, both timed in CPU seconds of this process (other processes on the machine do not
count), and prints:
- the model's share of the pipeline's time (target <= 30 %) and its cost per CDR;
- model state per account, pickled (mean and largest; target <= 4 KB) and the shared state;
- the share of talk time the model judged once the feed ended and time ran on past the
  horizon (every call counts: 100 %), and the share judged in a later bucket than its call's
  own (records that came after the horizon).

`quality [--worlds N ... | --tune] [--accounts A] [--days D] [--jobs J]` scores the
under-threshold incidents of simulator worlds
(`detector.simulate.world.subtle`: volume drift, night shift, destination mix, duration
creep, caller pool; default: the reporting worlds 11-30, never used for tuning; `--tune`: the
tuning worlds 1-10; smaller worlds with `--accounts`/`--days` for quick looks) for the rules,
the model and both: per world, the model alone (live) over every account, and the default
rules over the accounts of those incidents (all a rule could find there). Recall counts clear
and near incidents (subtle ones are reported apart); the model's false alerts are counted
over every clean account-day of the worlds, against every incident type. Targets (issue 11):
rules + model >= rules + 30 points of recall, the model adding <= 0.5 false alerts per 1,000
clean account-days.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from bench.quality import REPORTING, RULES, TUNING, bands_of, incidents_of, keyed, score
from bench.shards import SETTINGS_FILE, Replayed, Shard, replay, replay_shard, rules_with_zones
from bench.throughput import write_file
from detector.assembly import build_detector
from detector.backtest import cycles
from detector.config import ModelSettings
from detector.domain import CDR
from detector.evaluation import Incident
from detector.models.account import AccountModelState
from detector.models.loader import MODELS_FILE
from detector.models.scorer import AnomalyModel
from detector.simulate.world import World, draw_world
from detector.simulate.world.subtle import SUBTLE_TYPES
from detector.source.files import read_cdrs

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def cpu(work: Callable[[], T]) -> tuple[T, float]:
    """`work()` and the CPU seconds this process spent on it."""
    started = time.process_time()
    out = work()
    return out, time.process_time() - started


def batches(cdrs: list[CDR]) -> list[list[CDR]]:
    """The CDRs in the backtest's batches (poll cycles, `backtest.cycles`)."""
    return list(cycles(cdrs))


def pipeline(parts: list[list[CDR]]) -> AnomalyModel:
    """Rules + model + policy over the batches, like a backtest (model live); its model."""
    detector = build_detector(ROOT / "rules", ModelSettings(mode="live"))
    for batch in parts:
        detector.process(batch)
    assert detector.model is not None
    return detector.model


def model_only(parts: list[list[CDR]]) -> tuple[AnomalyModel, dict[str, AccountModelState]]:
    """The model alone over the same batches, advanced like `Detector.process` does."""
    detector = build_detector(ROOT / "rules", ModelSettings(mode="live"))
    model = detector.model
    assert model is not None
    states: dict[str, AccountModelState] = {}
    newest = None
    lateness = timedelta(minutes=10)
    for batch in parts:
        for cdr in batch:
            state = states.get(cdr.account)
            if state is None:
                state = states[cdr.account] = model.new_state()
            model.observe(cdr, state)
            if newest is None or cdr.start > newest:
                newest = cdr.start
        if newest is not None:
            for account, state in states.items():
                model.advance(account, newest - lateness, state)
    return model, states


def settle(model: AnomalyModel, states: dict[str, AccountModelState], cdrs: list[CDR]) -> None:
    """The feed ends and time runs on past the horizon: every open bucket is judged."""
    if not cdrs:
        return
    settled = max(c.start for c in cdrs) + model.config.horizon + 2 * model.config.bucket
    for account, state in states.items():
        model.advance(account, settled, state)


def report(path: Path) -> str:
    """Time both replays of `path` and describe the model's cost and state."""
    cdrs = [item for item in read_cdrs(path) if isinstance(item, CDR)]
    parts = batches(cdrs)
    _, whole = cpu(lambda: pipeline(parts))
    (model, states), alone = cpu(lambda: model_only(parts))
    sizes = sorted(len(pickle.dumps(s)) for s in states.values())  # open buckets included
    settle(model, states, cdrs)
    mean = sum(sizes) / len(sizes) if sizes else 0.0
    per_cdr = alone / len(cdrs) * 1e6 if cdrs else 0.0
    return "\n".join(
        [
            f"input: {len(cdrs):,} CDRs, {len(states):,} accounts",
            f"pipeline (rules + model): {whole:.1f} s CPU; model alone: {alone:.1f} s CPU "
            f"= {alone / whole:.0%} of the pipeline (target <= 30 %), {per_cdr:.1f} us per CDR",
            f"model state per account: {mean:,.0f} B pickled on average, {sizes[-1]:,} B largest"
            f" (target <= 4,096 B); shared state {len(model.global_state()):,} B",
            f"talk time judged once the feed ended and the horizon passed: "
            f"{model.talk.share_judged:.2%} of {model.talk.seen_s / 3600:,.0f} h "
            f"({model.talk.share_late:.2%} in a later bucket than its call's: records later "
            "than the horizon)",
        ]
    )


# --- the quality table on the under-threshold incidents --------------------------------------

TARGET_GAIN = 0.30
TARGET_ADDED_FALSE = 0.5


def model_only_rules(rules: Path, directory: Path) -> Path:
    """A rule directory with the same settings and model file but no rules (the model alone)."""
    target = directory / f"{rules.name}-model-only"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for name in (SETTINGS_FILE, MODELS_FILE):
        if (rules / name).exists():
            shutil.copy(rules / name, target / name)
    return target


def replay_world(
    seed: int, jobs: int, directory: Path, accounts: int = 500, days: float = 14.0
) -> tuple[World, Replayed, Replayed]:
    """World `seed` through the live path twice: the model alone over every account, and the
    rules over the accounts of the under-threshold incidents."""
    world = draw_world(seed, accounts, days)
    rules = rules_with_zones(RULES, world, directory)
    models = replay(world, model_only_rules(rules, directory), jobs=jobs, model=True)
    members = tuple(sorted({i.account for i in world.incidents if i.type in SUBTLE_TYPES}))
    shard = Shard(world.seed, len(world.accounts), world.days, members, rules, False, world.start)
    return world, replay_shard(shard), models


def recall_row(report: dict[str, Any], types: tuple[str, ...]) -> tuple[int, int, int, int]:
    """Scored incidents found and scored, subtle ones found and drawn, over `types`."""
    found = scored = subtle_found = subtle = 0
    for name in types:
        s = report["by_type"].get(name)
        if s is None:
            continue
        found += round((s["recall"] or 0.0) * s["incidents"])
        scored += s["incidents"]
        subtle_found += round((s["recall_subtle"] or 0.0) * s["subtle"])
        subtle += s["subtle"]
    return found, scored, subtle_found, subtle


def quality_table(title: str, reports: dict[str, dict[str, Any]]) -> str:
    """Recall per under-threshold type for rules, model and both; the model's false alerts."""
    names = list(reports)
    head = f"{'type':18}" + "".join(f"{n:>16}" for n in names) + f"{'subtle (below line)':>26}"
    lines = [title, "recall of clear + near incidents (found/scored)", head]
    totals = {n: recall_row(reports[n], SUBTLE_TYPES) for n in names}
    for name in (*SUBTLE_TYPES, "ALL"):
        types = SUBTLE_TYPES if name == "ALL" else (name,)
        rows = {n: recall_row(reports[n], types) for n in names}
        cells = "".join(f"{_share(r[0], r[1]):>16}" for r in rows.values())
        subtle = "/".join(f"{r[2]}" for r in rows.values()) + f" of {rows[names[0]][3]}"
        lines.append(f"{name:18}{cells}{subtle:>26}")
    model = reports["model"]["overall"]
    lines.append(
        f"model alone: {model['alerts']} alerts, precision {_pct(model['precision'])}, "
        f"{model['false_alerts_per_1000_account_days']:.2f} false alerts per 1,000 clean "
        "account-days (" + ", ".join(
            f"{band} {s['false_alerts_per_1000_account_days']:.2f}"
            for band, s in reports["model"].get("by_band", {}).items()
        ) + ")"
    )  # fmt: skip
    gain = _rate(totals["rules + model"]) - _rate(totals["rules"])
    added = model["false_alerts_per_1000_account_days"]
    verdict = gain >= TARGET_GAIN and added <= TARGET_ADDED_FALSE
    lines.append(
        f"rules + model over rules alone: {gain:+.0%} recall, {added:.2f} false alerts added "
        f"per 1,000 clean account-days ({'meets' if verdict else 'MISSES'} targets: "
        f">= +{TARGET_GAIN:.0%}, <= {TARGET_ADDED_FALSE})"
    )
    return "\n".join(lines)


def _rate(row: tuple[int, int, int, int]) -> float:
    return row[0] / row[1] if row[1] else 0.0


def _share(found: int, total: int) -> str:
    return f"{found}/{total} {found / total:.0%}" if total else "-"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def quality(
    seeds: Sequence[int], jobs: int, accounts: int = 500, days: float = 14.0
) -> dict[str, dict[str, Any]]:
    """Replay the worlds and score rules, model and both; prints a line per world."""
    alerts: dict[str, list[dict[str, Any]]] = {"rules": [], "model": []}
    incidents: list[Incident] = []
    bands: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            world, rules, models = replay_world(seed, jobs, Path(tmp), accounts, days)
            alerts["rules"] += keyed(world, rules.alerts)
            alerts["model"] += keyed(world, models.alerts)
            incidents += incidents_of(world)
            bands.update(bands_of(world))
            line = (f"world {seed}: {models.cdrs:,} CDRs; {len(models.alerts)} model and "
                    f"{len(rules.alerts)} rule notifications")  # fmt: skip
            print(line, file=sys.stderr, flush=True)
    variants = {
        "rules": alerts["rules"],
        "model": alerts["model"],
        "rules + model": alerts["rules"] + alerts["model"],
    }
    return {name: score(chosen, incidents, bands, days) for name, chosen in variants.items()}


def main(argv: list[str] | None = None) -> None:
    """`cost` (default) or `quality`: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.models", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command")
    cost = sub.add_parser("cost", help="model time share, state per account, talk judged")
    cost.add_argument("accounts", nargs="?", type=int, default=300)
    cost.add_argument("hours", nargs="?", type=int, default=72)
    qual = sub.add_parser("quality", help="recall on the under-threshold incidents")
    qual.add_argument("--worlds", nargs="+", type=int, help="world seeds (default 11-30)")
    qual.add_argument("--tune", action="store_true", help="the tuning worlds 1-10")
    qual.add_argument("--accounts", type=int, default=500)
    qual.add_argument("--days", type=float, default=14.0)
    qual.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args((sys.argv[1:] if argv is None else argv) or ["cost"])
    if args.command == "quality":
        seeds = args.worlds or (TUNING if args.tune else REPORTING)
        reports = quality(seeds, args.jobs, args.accounts, args.days)
        kind = "tuning" if set(seeds) <= set(TUNING) else "reporting"
        head = f"under-threshold incidents, {kind} worlds {', '.join(map(str, seeds))}"
        print(quality_table(f"{head}: {args.accounts} accounts x {args.days:g} d", reports))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(args.accounts, args.hours, Path(tmp))
        print(report(path))


if __name__ == "__main__":
    main()
