"""`make bench`: backtest throughput of the default pack next to the parse-only floor.

Generates a simulator file (deterministic seed), then times on one core:
- floor: reading + normalising every row (what any detector must pay);
- rules only, and rules + model, through the live `Detector` path;
and prints CDR/s and the ratio to the floor, plus pickled state bytes per tracked account.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from detector.assembly import build_detector
from detector.backtest import run_backtest
from detector.config import ModelSettings
from detector.simulate import SimOptions, generate, write_rows_jsonl
from detector.source.files import read_cdrs

ROOT = Path(__file__).resolve().parents[1]


def _file(accounts: int, hours: int, tmp: Path) -> Path:
    path = tmp / "bench.jsonl"
    options = SimOptions(accounts=accounts, duration=timedelta(hours=hours), seed=42)
    write_rows_jsonl(generate(options), path)
    return path


def _floor(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    n = sum(1 for _ in read_cdrs(path))
    return n, time.perf_counter() - started


def _replay(path: Path, model: bool) -> tuple[int, float, float]:
    detector = build_detector(ROOT / "rules", ModelSettings(enabled=model))
    result = run_backtest(path, detector)
    sizes = [len(pickle.dumps(s)) for s in detector.accounts.values()]
    per_account = sum(sizes) / len(sizes) if sizes else 0.0
    return result.cdrs, result.elapsed_s, per_account


def main() -> None:
    """Print the figures."""
    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    hours = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    with tempfile.TemporaryDirectory() as tmp:
        path = _file(accounts, hours, Path(tmp))
        n, floor_s = _floor(path)
        print(f"input: {n:,} CDRs, {accounts} accounts, {hours} h (simulator seed 42)")
        print(f"{'stage':28}{'CDR/s':>12}{'x floor':>10}{'state B/account':>18}")
        print(f"{'floor: read + normalise':28}{n / floor_s:>12,.0f}{1.0:>10.2f}{'-':>18}")
        for label, model in (("rules (default pack)", False), ("rules + model", True)):
            cdrs, secs, per_account = _replay(path, model)
            print(f"{label:28}{cdrs / secs:>12,.0f}{secs / floor_s:>10.2f}{per_account:>18,.0f}")


if __name__ == "__main__":
    main()
