"""`python -m bench.soak`: an operator's worst week, shortened: does the daemon lose anything?

Runs the simulator and the daemon as real processes on loopback. The simulated API has its
chaos on (5xx, 429 bursts, malformed and truncated bodies, duplicate rows, 10 % of CDRs
published up to an hour late) and an outage that answers 503 to everything for hours of sim
time; meanwhile the daemon is SIGKILLed at random moments (some before its first commit),
restarted each time, and finally left running until the simulated run has ended. The figure
that matters: `state inspect`'s `cdrs_processed` against the distinct calls the simulator
served (equal means nothing lost, nothing counted twice). Defaults are the reliability
issue's run: 6 simulated hours, a 5-hour outage, 10 kills.

    python -m bench.soak [--hours 6] [--outage-hours 5] [--kills 10] [--speed 600] [--seed 21]

The long-call run (issue 18): 24 simulated hours, irsf incidents with calls of 5, 8 and 12 h,
the default 24 h horizon, faults and 10 restarts; duration-cap must fire live:

    python -m bench.soak --hours 24 --outage-hours 0 --horizon-hours 24 --longest 5 8 12

`tests/test_soak.py` runs a shorter version of the same function in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.daemon import AUTH, ROOT, Simulator, daemon, free_port, processed, wait_for, write_config

API = "cdr_detector_api_requests_total"

CHAOS = """
chaos:
  error_rates: {500: 0.05, 503: 0.03}
  rate_limit_bursts: {every_s: 4, length_s: 0.5, retry_after_s: 0.2}
  malformed_rate: 0.03
  truncated_rate: 0.02
  duplicate_rate: 0.05
  late_fraction: 0.1
"""


def scenario_yaml(outage_hours: float, longest: tuple[float, ...]) -> str:
    """Chaos, a robocall, an irsf after the outage, and one irsf per long call (hours)."""
    late = int(30 + outage_hours * 60 + 20)  # minutes: an incident after the outage, too
    incidents = [
        "  - {type: robocall, account: 0, start: 10m, duration: 30m}",
        f"  - {{type: irsf, account: 1, start: {late}m, duration: 30m}}",
        *(f"  - {{type: irsf, account: {2 + i}, start: {40 + 15 * i}m, duration: 20m, "
          f"longest: {int(h * 3600)}s}}" for i, h in enumerate(longest)),
    ]  # fmt: skip
    outage = f"  outages: [{{start: 30m, duration: {int(outage_hours * 60)}m}}]\n"
    return "incidents:\n" + "\n".join(incidents) + CHAOS + (outage if outage_hours else "")


@dataclass(frozen=True)
class Soak:
    """What one run did and found."""

    served: int
    processed: int
    kills: int
    wall_s: float
    api: dict[str, float]
    """API answers by code over every daemon's life (each scraped just before its SIGKILL):
    the last daemon alone may start after the outage and see none of its 503s."""
    gaps: float
    rejected: int
    caps: int = 0
    """duration-cap alerts fired (the long-call run: calls of 4 h and more seen live)."""

    def line(self) -> str:
        """One printable summary."""
        codes = ", ".join(f"{k} {int(v):,}" for k, v in sorted(self.api.items()))
        return (
            f"served {self.served:,} distinct calls, cdrs_processed {self.processed:,} "
            f"({'equal' if self.served == self.processed else 'DIFFERENT'}); {self.kills} "
            f"SIGKILLs; {int(self.gaps)} feed gaps read back; {self.rejected} rows rejected; "
            f"{self.caps} duration-cap alerts; "
            f"API answers: {codes}; {self.wall_s:.0f} s wall"
        )


def soak(
    tmp: Path,
    *,
    hours: float = 6.0,
    outage_hours: float = 5.0,
    kills: int = 10,
    speed: float = 600.0,
    accounts: int = 40,
    seed: int = 21,
    horizon_hours: float = 4.0,
    longest: tuple[float, ...] = (),
    say: Callable[[str], None] = print,
) -> Soak:
    """Run the simulator with chaos and an outage, kill the daemon `kills` times, settle.

    `longest`: extra irsf incidents, each with one call lasting that many hours.
    """
    began = time.monotonic()
    scenario = tmp / "chaos.yaml"
    scenario.write_text(scenario_yaml(outage_hours, longest))
    sim = Simulator(
        tmp, "--accounts", str(accounts), "--speed", str(speed), "--seed", str(seed),
        "--duration", f"{int(hours * 60)}m", "--scenario", str(scenario),
    )  # fmt: skip
    state = tmp / "state.sqlite"
    # 10 % of CDRs are published up to an hour late: the daemon is told so. The reliability
    # run's horizon (4 h) is shorter than its outage on purpose; the long-call run's is 24 h
    poll = {"max_lag_s": 3700, "lateness_horizon_s": horizon_hours * 3600}
    poll |= {"max_pages_per_cycle": 5}  # a backlog then takes many cycles: kills land inside
    config = write_config(tmp, speed, poll=poll, api={"max_retries": 1})
    rng = random.Random(seed)
    run_s = hours * 3600 / speed
    killed: list[str] = []
    try:
        for kill in range(kills):
            port = free_port()
            proc = daemon(tmp, sim, config, port, {}, f"daemon-{kill}")
            wait_for(lambda p=proc: '"started"' in p.text(), 60, "the daemon to start")
            young = kill % 3 == 0  # dies within a cycle or two: often before any commit
            life = rng.uniform(0.05, 0.4) if young else rng.uniform(0.5, run_s / kills)
            time.sleep(life)
            killed.append(_scrape(port) or "")
            proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait(timeout=10)
            at = sim.stats()["sim_time"]
            say(f"kill {kill + 1}/{kills} {life:.1f} s after start (sim {at}): "
                f"{processed(state):,} committed")  # fmt: skip
        port = free_port()
        last = daemon(tmp, sim, config, port, {}, "daemon-last")
        try:
            wait_for(lambda: sim.stats()["final"], 4 * run_s + 120, "the simulated run to end")
            served = int(sim.stats()["calls"])
            wait_for(lambda: processed(state) >= served, 300, f"cdrs_processed >= {served}")
            time.sleep(1.0)  # a few more cycles: a double count would show now
            exposition = wait_for(lambda: _scrape(port), 60, "the last daemon's /metrics")
        finally:
            if last.stop() != 0:
                say(last.text()[-2000:])
    finally:
        sim.proc.stop()
    info = inspect(state)
    return Soak(
        served=served,
        processed=int(info["cdrs_processed"]),
        kills=kills,
        wall_s=time.monotonic() - began,
        api=_summed(_by_label(e, API, "code") for e in [*killed, exposition]),
        gaps=sum(_by_label(exposition, "cdr_detector_feed_gaps_total", "").values()),
        rejected=sum(info.get("rejected", {}).values()),
        caps=_fired(state, "duration-cap"),
    )


def _scrape(port: int) -> str | None:
    """The daemon's /metrics text, or None while it is not listening yet."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None


def _fired(state: Path, rule: str) -> int:
    """Live (not shadow) firing alerts of `rule` in the state's alerts table."""
    with sqlite3.connect(state) as conn:
        bodies = [json.loads(b) for (b,) in conn.execute("SELECT body FROM alerts")]
    return sum(
        1 for b in bodies
        if b.get("rule") == rule and b.get("status") == "firing" and not b.get("shadow")
    )  # fmt: skip


def inspect(state: Path) -> dict[str, object]:
    """`cdr-detector state inspect --json`, as an operator would run it."""
    out = subprocess.run(
        [sys.executable, "-m", "detector", "state", "inspect", "--state", str(state), "--json"],
        check=True, capture_output=True, cwd=ROOT, env={**AUTH, "PATH": ""},
    )  # fmt: skip
    info: dict[str, object] = json.loads(out.stdout)
    return info


def _summed(counts: Iterable[dict[str, float]]) -> dict[str, float]:
    """Counters of several daemons' lives added up by key."""
    total: dict[str, float] = {}
    for each in counts:
        for key, value in each.items():
            total[key] = total.get(key, 0.0) + value
    return total


def _by_label(exposition: str, name: str, label: str) -> dict[str, float]:
    """The samples of one metric, keyed by one label's value ("" for an unlabelled one)."""
    found: dict[str, float] = {}
    for line in exposition.splitlines():
        if not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        key = head.split(f'{label}="', 1)[1].split('"', 1)[0] if label and "{" in head else ""
        found[key] = found.get(key, 0.0) + float(value)
    return found


def main(argv: list[str] | None = None) -> None:
    """Run once with the given sizes and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--outage-hours", type=float, default=5.0)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--speed", type=float, default=600.0)
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--horizon-hours", type=float, default=4.0)
    parser.add_argument("--longest", type=float, nargs="*", default=[], help="hours")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = soak(
            Path(tmp), hours=args.hours, outage_hours=args.outage_hours, kills=args.kills,
            speed=args.speed, accounts=args.accounts, seed=args.seed,
            horizon_hours=args.horizon_hours, longest=tuple(args.longest),
        )  # fmt: skip
    print(result.line())
    if result.served != result.processed:
        raise SystemExit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
