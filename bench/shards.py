"""Replaying a world through the live detection path, sharded by account across processes.

Each shard is one `Detector` (`build_detector` with the given rules) fed its accounts' CDRs in
availability order, in batches like poll cycles (`backtest.cycles`, as the backtest), then
advanced to its newest CDR: exactly what a partner with only those accounts would see. Shards
are balanced by expected calls. A worker draws the world itself (cheap and deterministic), so
only the seed, the shard and the rule directory cross the process boundary, and only firing
alerts come back.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from detector.assembly import build_detector
from detector.backtest import cycles, pass_time
from detector.config import ModelSettings
from detector.simulate.options import DEFAULT_START
from detector.simulate.world import World, draw_world

SETTINGS_FILE = "_ruleset.yaml"


@dataclass(frozen=True)
class Shard:
    """What one worker replays: world `seed` of `accounts` × `days` from `start`, these account
    indexes (the worker draws the world again, so every argument of `draw_world` travels)."""

    seed: int
    accounts: int
    days: float
    members: tuple[int, ...]
    rules: Path
    model: bool
    start: datetime = DEFAULT_START


@dataclass
class Replayed:
    """A replay's firing alerts and where its CPU time went (CPU, not wall: the figures hold
    on a busy machine)."""

    alerts: list[dict[str, Any]]
    cdrs: int = 0
    generate_s: float = 0.0
    """CPU seconds spent drawing the calls and normalising them into CDRs."""
    detect_s: float = 0.0
    """CPU seconds spent in the Detector."""

    def add(self, other: Replayed) -> None:
        """Fold another shard's result into this one."""
        self.alerts.extend(other.alerts)
        self.cdrs += other.cdrs
        self.generate_s += other.generate_s
        self.detect_s += other.detect_s


def rules_with_zones(rules: Path, world: World, directory: Path) -> Path:
    """A copy of `rules` whose `_ruleset.yaml` maps the world's accounts to their timezones
    (what `cdr-detector rules timezones` writes from `GET /accounts`)."""
    target = directory / f"rules-world-{world.seed}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(rules, target)
    settings_path = target / SETTINGS_FILE
    settings = {}
    if settings_path.exists():
        settings = yaml.safe_load(settings_path.read_text(encoding="utf-8")) or {}
    home = str(settings.get("timezone", "Asia/Kolkata"))
    zones = dict(settings.get("timezones") or {})
    zones.update(world.timezones(home))
    settings["timezones"] = zones
    settings_path.write_text(yaml.safe_dump(settings, sort_keys=True), encoding="utf-8")
    return target


def shards(world: World, jobs: int) -> list[tuple[int, ...]]:
    """Account indexes split into `jobs` groups of about equal expected calls."""
    load = [0.0] * max(jobs, 1)
    groups: list[list[int]] = [[] for _ in load]
    sizes = sorted(((world.expected_calls([a.index]), a.index) for a in world.accounts),
                   reverse=True)  # fmt: skip
    for size, index in sizes:
        lightest = min(range(len(load)), key=load.__getitem__)
        groups[lightest].append(index)
        load[lightest] += size
    return [tuple(sorted(g)) for g in groups if g]


def replay(world: World, rules: Path, *, jobs: int, model: bool) -> Replayed:
    """Every shard of `world` replayed (in `jobs` processes when more than one)."""
    work = [Shard(world.seed, len(world.accounts), world.days, members, rules, model, world.start)
            for members in shards(world, jobs)]  # fmt: skip
    total = Replayed([])
    if jobs <= 1:
        for shard in work:
            total.add(replay_shard(shard))
        return total
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for done in pool.map(replay_shard, work):
            total.add(done)
    return total


def replay_shard(shard: Shard) -> Replayed:
    """One shard through one Detector; firing alerts only."""
    world = draw_world(shard.seed, shard.accounts, shard.days, shard.start)
    detector = build_detector(shard.rules, ModelSettings(enabled=shard.model, mode="live"))
    out = Replayed([])
    started = time.process_time()
    for batch in cycles(world.stream(shard.members, form="cdrs")):
        t0 = time.process_time()
        for quiet in pass_time(detector, batch[0].start):
            _keep(out, quiet.alerts)
        _keep(out, detector.process(batch).alerts)
        out.detect_s += time.process_time() - t0
        out.cdrs += len(batch)
    if detector.newest is not None:
        t0 = time.process_time()
        _keep(out, detector.advance(detector.newest).alerts)
        out.detect_s += time.process_time() - t0
    out.generate_s = time.process_time() - started - out.detect_s
    return out


def _keep(out: Replayed, alerts: list[Any]) -> None:
    """Keep the firing notifications (the only ones scoring reads)."""
    for alert in alerts:
        body = alert.to_json()
        if body["status"] == "firing":
            out.alerts.append(body)
