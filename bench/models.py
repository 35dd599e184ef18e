"""`python -m bench.models [ACCOUNTS HOURS]`: what the anomaly model costs.

Generates a deterministic simulator file, replays it through the live `Detector` (rules +
model), then through the model alone on the same CDRs and batches, both timed in CPU seconds
of this process (other processes on the machine do not count), and prints:
- the model's share of the pipeline's time (target <= 30 %) and its cost per CDR;
- model state per account, pickled (mean and largest; target <= 4 KB) and the shared state;
- the share of talk time the model judged (every call counts: 100 % unless a record came
  later than the lateness horizon).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from bench.throughput import write_file
from detector.assembly import build_detector
from detector.backtest import BATCH
from detector.config import ModelSettings
from detector.domain import CDR
from detector.models.scorer import AccountModelState, AnomalyModel
from detector.source.files import read_cdrs

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def cpu(work: Callable[[], T]) -> tuple[T, float]:
    """`work()` and the CPU seconds this process spent on it."""
    started = time.process_time()
    out = work()
    return out, time.process_time() - started


def batches(cdrs: list[CDR]) -> list[list[CDR]]:
    """The CDRs in backtest-sized batches (poll cycles)."""
    return [cdrs[i : i + BATCH] for i in range(0, len(cdrs), BATCH)]


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


def report(path: Path) -> str:
    """Time both replays of `path` and describe the model's cost and state."""
    cdrs = [item for item in read_cdrs(path) if isinstance(item, CDR)]
    parts = batches(cdrs)
    _, whole = cpu(lambda: pipeline(parts))
    (model, states), alone = cpu(lambda: model_only(parts))
    sizes = sorted(len(pickle.dumps(s)) for s in states.values())
    mean = sum(sizes) / len(sizes) if sizes else 0.0
    per_cdr = alone / len(cdrs) * 1e6 if cdrs else 0.0
    return "\n".join(
        [
            f"input: {len(cdrs):,} CDRs, {len(states):,} accounts",
            f"pipeline (rules + model): {whole:.1f} s CPU; model alone: {alone:.1f} s CPU "
            f"= {alone / whole:.0%} of the pipeline (target <= 30 %), {per_cdr:.1f} us per CDR",
            f"model state per account: {mean:,.0f} B pickled on average, {sizes[-1]:,} B largest"
            f" (target <= 4,096 B); shared state {len(model.global_state()):,} B",
            f"talk time judged: {model.talk.share_judged:.2%} of {model.talk.judged_s / 3600:,.0f}"
            f" h ({model.talk.late_s:,.0f} s too late)",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Generate the file and print the model's figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.models", description=__doc__)
    parser.add_argument("accounts", nargs="?", type=int, default=300)
    parser.add_argument("hours", nargs="?", type=int, default=72)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(args.accounts, args.hours, Path(tmp))
        print(report(path))


if __name__ == "__main__":
    main()
