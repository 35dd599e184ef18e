"""Backtest throughput of the default pack on one core, next to the parse-only floor (issue 4).

Generates a deterministic simulator file, then times each stage over the same rows:
- floor: read + parse JSON only (no detector can go below it);
- read + normalise: the floor plus folding rows into `CDR`s (number classification included);
- classify to_number: number classification alone over the same CDRs' destinations (its share
  of read + normalise; metadata already loaded, cache cold);
- rules end to end, and rules + model end to end, through `run_backtest` and the live `Detector`;
and prints CDR/s and the time relative to the floor, plus pickled rule state bytes per idle
account (no rule keys left after a sweep) and per active account (as the replay left it), and
the active account's rule state in memory (the cache-relevant size).
The number classification cache is emptied before each stage, so every stage starts cold.
Each stage runs `--repeat` times (default 3), the stages taking turns, and its fastest run is
reported: on a shared machine a single run of the floor moved by a third between runs, which
made the `x floor` column swing more than a code change could move it (the minimum of repeats
is what `timeit` reports, for the same reason).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from detector.assembly import build_detector
from detector.backtest import run_backtest
from detector.config import ModelSettings
from detector.domain import CDR
from detector.enrich.numbers import classify, reset_cache
from detector.pipeline import Detector
from detector.simulate import SimOptions, generate, write_rows_jsonl
from detector.source.files import read_cdrs, read_rows

ROOT = Path(__file__).resolve().parents[1]
SEED = 42


@dataclass(frozen=True, slots=True)
class Stage:
    """One timed stage: rows handled and wall seconds."""

    label: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def write_file(accounts: int, hours: int, folder: Path) -> Path:
    """A deterministic simulator JSONL file of `accounts` × `hours` of traffic."""
    path = folder / "bench.jsonl"
    options = SimOptions(accounts=accounts, duration=timedelta(hours=hours), seed=SEED)
    write_rows_jsonl(generate(options), path)
    return path


def timed(label: str, work: Callable[[], int]) -> Stage:
    """Run `work` (returns rows handled) from a cold number cache and time it."""
    reset_cache()
    started = time.perf_counter()
    rows = work()
    return Stage(label, rows, time.perf_counter() - started)


def replay(path: Path, *, model: bool) -> tuple[int, Detector]:
    """Backtest `path` through a fresh default-pack detector; CDRs seen and the detector."""
    detector = build_detector(ROOT / "rules", ModelSettings(enabled=model))
    return run_backtest(path, detector).cdrs, detector


def state_bytes(detector: Detector) -> tuple[float, float, float]:
    """Mean rule-state bytes per account: pickled when idle (after a sweep far ahead), pickled
    when active, and in memory when active (what a deep copy allocates; text shared with the
    original, such as call ids, is not counted)."""
    states = [account.rules for account in detector.accounts.values()]
    if not states:
        return 0.0, 0.0, 0.0
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    copies = deepcopy(states)
    resident = (tracemalloc.get_traced_memory()[0] - before) / len(states)
    tracemalloc.stop()
    del copies
    active = sum(len(pickle.dumps(s)) for s in states) / len(states)
    newest = detector.newest
    far = int(newest.timestamp()) + 30 * 86400 if newest is not None else 0
    idle = []
    for state in states:
        copy = deepcopy(state)
        detector.engine.sweep(copy, far)
        idle.append(len(pickle.dumps(copy)))
    return sum(idle) / len(idle), active, resident


def measure(path: Path, repeat: int = 1) -> tuple[list[Stage], tuple[float, float, float]]:
    """Time every stage over `path`, `repeat` times in turn, keeping each stage's fastest run;
    the stages and the rule-state sizes of the (first) rules run."""
    kept: list[Detector] = []

    def rules(model: bool) -> Callable[[], int]:
        def work() -> int:
            rows, detector = replay(path, model=model)
            if not model and not kept:
                kept.append(detector)
            return rows

        return work

    numbers = [item.to_number for item in read_cdrs(path) if isinstance(item, CDR)]
    work: list[tuple[str, Callable[[], int]]] = [
        ("floor: read + parse JSON", lambda: sum(1 for _ in read_rows(path))),
        ("read + normalise", lambda: sum(1 for _ in read_cdrs(path))),
        ("classify to_number", lambda: len([classify(number) for number in numbers])),
        ("rules (default pack)", rules(False)),
        ("rules + model", rules(True)),
    ]
    best: dict[str, Stage] = {}
    for _ in range(max(repeat, 1)):
        for label, run in work:
            stage = timed(label, run)
            if label not in best or stage.seconds < best[label].seconds:
                best[label] = stage
    return [best[label] for label, _ in work], state_bytes(kept[0])


BEFORE_ACCOUNT_RELATIVE = {
    "read + normalise": 5.05,
    "classify to_number": 1.41,
    "rules (default pack)": 32.75,
    "rules + model": 38.79,
}
"""`x floor` of each stage with the pack before it judged accounts against themselves (commit
672acb6, 20 rules; `python -m bench.throughput 200 24`, run back to back with today's on the
same machine). Time relative to the parse-only floor is compared, not CDR/s, because the
floor absorbs a steady load on the machine (not a changing one: on a busy machine run the two
versions back to back, several times)."""
BEFORE_STATE = (5387.0, 7419.0)
"""Pickled rule state per idle and per active account with that pack (same run)."""


def report(stages: list[Stage], sizes: tuple[float, float, float]) -> str:
    """The figures as a small table, next to the figures before the account-relative pack."""
    floor = stages[0].seconds
    lines = [f"{'stage':28}{'CDR/s':>12}{'x floor':>10}{'before':>9}"]
    for stage in stages:
        ratio = stage.seconds / floor if floor > 0 else 0.0
        before = BEFORE_ACCOUNT_RELATIVE.get(stage.label)
        then = f"{before:>9.2f}" if before else f"{'':>9}"
        lines.append(f"{stage.label:28}{stage.rate:>12,.0f}{ratio:>10.2f}{then}")
    idle, active, resident = sizes
    lines.append(
        f"rule state per idle account: {idle:,.0f} B pickled (before: {BEFORE_STATE[0]:,.0f}); "
        f"per active account: {active:,.0f} B pickled (before: {BEFORE_STATE[1]:,.0f}), "
        f"{resident:,.0f} B in memory"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Generate the file, run every stage, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__)
    parser.add_argument("accounts", nargs="?", type=int, default=300)
    parser.add_argument("hours", nargs="?", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (fastest kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(args.accounts, args.hours, Path(tmp))
        stages, sizes = measure(path, args.repeat)
    print(
        f"input: {stages[0].rows:,} rows, {args.accounts} accounts, {args.hours} h (seed {SEED}),"
        f" fastest of {max(args.repeat, 1)} runs per stage"
    )
    print(report(stages, sizes))


if __name__ == "__main__":
    main()
