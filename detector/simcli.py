"""Glue between the `simulate` command's options and the simulator library."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from detector.config import TrunkWebhookSettings
from detector.errors import ConfigError
from detector.secret import AUTH_ID_ENV, AUTH_TOKEN_ENV
from detector.simulate import (
    SimOptions,
    generate,
    load_scenario,
    serve_forever,
    write_labels_jsonl,
    write_rows_jsonl,
)
from detector.simulate.options import DEFAULT_START
from detector.simulate.scenario import parse_span
from detector.simulate.traffic import write_mispriced_jsonl
from detector.simulate.world import draw_world
from detector.simulate.world.rows import served

HOOK_SECRET_ENV = TrunkWebhookSettings().secret_env


def _start(start: str | None) -> datetime:
    """`--start`: an ISO 8601 time, or "now" (the wall clock, to the second), or the default."""
    if start == "now":
        return datetime.now(UTC).replace(microsecond=0)
    return datetime.fromisoformat(start.replace("Z", "+00:00")) if start else DEFAULT_START


def options_from_cli(
    *,
    accounts: int,
    speed: float,
    seed: int,
    duration: str,
    start: str | None,
    scenario: Path | None,
    shape: str,
    auth_id: str | None,
    auth_token: str | None,
) -> SimOptions:
    """Validate the command's options into `SimOptions` (credentials default to the env)."""
    if shape not in ("a", "b"):
        raise ConfigError(f"--shape must be 'a' or 'b', not {shape!r}")
    shape_lit: Literal["a", "b"] = "a" if shape == "a" else "b"
    try:
        begin = _start(start)
    except ValueError as exc:
        raise ConfigError(f"--start: not an ISO 8601 time or 'now': {start!r}") from exc
    if begin.tzinfo is None:
        raise ConfigError("--start: give a timezone, e.g. 2026-03-02T03:30:00Z")
    try:
        span = parse_span(duration)
    except ValueError as exc:
        raise ConfigError(f"--duration: {exc}") from exc
    defaults = SimOptions()
    return SimOptions(
        accounts=accounts,
        speed=speed,
        seed=seed,
        duration=span,
        start=begin,
        shape=shape_lit,
        auth_id=auth_id or os.environ.get(AUTH_ID_ENV) or defaults.auth_id,
        auth_token=auth_token or os.environ.get(AUTH_TOKEN_ENV) or defaults.auth_token,
        scenario=load_scenario(scenario) if scenario else None,
    )


def main(
    *,
    listen: str,
    to_file: Path | None,
    labels_out: Path | None,
    mispriced_out: Path | None = None,
    world_seed: int | None = None,
    webhook_url: str | None = None,
    **options: object,
) -> None:
    """Serve the fake API on `listen`, or write the traffic to `to_file` and exit."""
    opts = options_from_cli(**options)  # type: ignore[arg-type]
    if mispriced_out is not None:
        _check_mispricing(opts, world_seed)
    if world_seed is not None:
        world_main(opts, world_seed, listen=listen, to_file=to_file, labels_out=labels_out)
        return
    if to_file is None:
        host, _, port = listen.rpartition(":")
        secret = os.environ.get(HOOK_SECRET_ENV, "")
        if webhook_url and not secret:
            raise ConfigError(f"--webhook-url: set {HOOK_SECRET_ENV} to the signing secret")
        serve_forever(
            opts, host or "127.0.0.1", int(port), labels_out, mispriced_out,
            webhook_url=webhook_url, webhook_secret=secret.encode(),
        )  # fmt: skip
        return
    traffic = generate(opts)
    write_rows_jsonl(traffic, to_file)
    if labels_out is not None:
        write_labels_jsonl(traffic.labels, labels_out)
    if mispriced_out is not None:
        write_mispriced_jsonl(traffic.mispriced, mispriced_out)


def _check_mispricing(opts: SimOptions, world_seed: int | None) -> None:
    """`--mispriced-out` needs a scenario that bills calls wrong: say so, never write an
    empty label file that would score a billing report against nothing."""
    if world_seed is not None:
        raise ConfigError("--mispriced-out works with --scenario, not --world-seed")
    if opts.scenario is None or opts.scenario.chaos.cost_mismatch_rate <= 0:
        raise ConfigError(
            "--mispriced-out: the scenario bills no call wrong; add "
            "`chaos: {cost_mismatch_rate: 0.01}` to the --scenario file"
        )


def world_main(
    opts: SimOptions, seed: int, *, listen: str, to_file: Path | None, labels_out: Path | None
) -> None:
    """`simulate --world-seed N`: world N (`--accounts` over `--duration` from `--start`),
    served from memory (capped, see `detector.simulate.world.rows.MAX_SERVED`) or streamed to
    `to_file` (any size); `labels_out` gets its graded labels."""
    if opts.scenario is not None:
        raise ConfigError("--world-seed draws its own incidents: leave out --scenario")
    days = opts.duration.total_seconds() / 86_400.0
    world = draw_world(seed, opts.accounts, days, opts.start)
    if to_file is None:
        traffic = served(world, opts.shape)
    if labels_out is not None:
        write_labels_jsonl(world.labels(), labels_out)
    if to_file is not None:
        with to_file.open("w", encoding="utf-8") as out:
            for row in world.stream(shape=opts.shape):
                out.write(json.dumps(row, separators=(",", ":")) + "\n")
        return
    host, _, port = listen.rpartition(":")
    serve_forever(opts, host or "127.0.0.1", int(port), None, traffic=traffic)
