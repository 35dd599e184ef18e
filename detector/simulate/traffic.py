"""Generating a whole run's traffic (background + incidents) and writing it to files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from detector.simulate.background import generate_background
from detector.simulate.incidents import Label, inject
from detector.simulate.mispricing import Mispriced, misprice
from detector.simulate.options import SimOptions
from detector.simulate.profile import Customer, make_accounts
from detector.simulate.scenario import Chaos, builtin_scenario
from detector.simulate.wire import HIDDEN_FIELD, Row, build_rows

_ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Traffic:
    """A run's rows in arrival order, with labels and accounts.

    `rows[i]` carries `available_at` (ISO) and `available[i]` / `starts[i]` (epoch seconds) say
    when it shows up in the feed and when the call started; the server strips `available_at`.
    `mispriced` lists the calls billed wrong on purpose (`chaos.cost_mismatch_rate`).
    """

    rows: list[Row]
    available: list[float]
    starts: list[float]
    labels: list[Label]
    accounts: Sequence[Customer]
    chaos: Chaos
    mispriced: list[Mispriced] = field(default_factory=list)

    @property
    def final_at(self) -> datetime:
        """Sim time after which every row is visible and the feed no longer changes."""
        last = max(self.available, default=0.0)
        return datetime.fromtimestamp(last, tz=UTC)


def generate(options: SimOptions) -> Traffic:
    """Deterministic traffic for `options.seed`: same options, same rows, ids and labels."""
    scenario = options.scenario if options.scenario is not None else builtin_scenario()
    rng = np.random.default_rng(options.seed)
    accounts = make_accounts(rng, options.accounts)
    calls = generate_background(rng, accounts, options.start, options.duration)
    span = (options.start, options.start + options.duration)
    calls, labels = inject(options.seed, scenario, accounts, span, calls)
    row_rng = np.random.default_rng([options.seed, 2])
    rows, available = build_rows(row_rng, calls, accounts, options.shape, scenario.chaos)
    mispriced = misprice(
        np.random.default_rng([options.seed, 11]), rows, calls, scenario.chaos.cost_mismatch_rate
    )
    starts = calls.start.tolist()
    for i, when in _duplicates(row_rng, available.tolist(), scenario.chaos.duplicate_rate):
        copy = dict(rows[i])
        copy[HIDDEN_FIELD] = datetime.fromtimestamp(int(when), tz=UTC).strftime(_ISO)
        rows.append(copy)
        starts.append(starts[i])
        available = np.append(available, when)
    order = sorted(range(len(rows)), key=lambda i: (available[i], starts[i]))
    return Traffic(
        rows=[rows[i] for i in order],
        available=[float(available[i]) for i in order],
        starts=[starts[i] for i in order],
        labels=sorted(labels, key=lambda lab: (lab.start, lab.account)),
        accounts=accounts,
        chaos=scenario.chaos,
        mispriced=mispriced,
    )


def _duplicates(
    rng: np.random.Generator, available: list[float], rate: float
) -> list[tuple[int, float]]:
    """Chaos: rows to deliver a second time (same call id), 30–600 s after the first showing."""
    if rate <= 0:
        return []
    picks = np.nonzero(rng.random(len(available)) < rate)[0]
    return [(int(i), available[int(i)] + float(rng.uniform(30.0, 600.0))) for i in picks]


def write_rows_jsonl(traffic: Traffic, path: Path) -> None:
    """Every row, one JSON object a line, in arrival order (`available_at` kept for replays)."""
    with path.open("w", encoding="utf-8") as out:
        for row in traffic.rows:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


def write_mispriced_jsonl(mispriced: list[Mispriced], path: Path) -> None:
    """The mispriced calls, one `{"call_id","account","kind","billed","expected"}` a line."""
    with path.open("w", encoding="utf-8") as out:
        for item in mispriced:
            out.write(json.dumps(item.to_json()) + "\n")


def write_labels_jsonl(labels: list[Label], path: Path) -> None:
    """The incident labels, one `{"account","type","start","end"}` object a line."""
    with path.open("w", encoding="utf-8") as out:
        for label in labels:
            out.write(json.dumps(label.to_json()) + "\n")
