"""Exactly once across crashes: random SIGKILLs over a simulated hour of a faulty API."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.daemon import (
    Simulator,
    check_delivery,
    daemon,
    fast_route,
    free_port,
    processed,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.slow

CHAOS = """
incidents:
  - {type: robocall, account: 0, start: 10m, duration: 30m}
  - {type: irsf, account: 1, start: 15m, duration: 30m}
chaos:
  error_rates: {500: 0.05, 503: 0.03}
  rate_limit_bursts: {every_s: 4, length_s: 0.5, retry_after_s: 0.2}
  malformed_rate: 0.03
  truncated_rate: 0.02
  duplicate_rate: 0.05
  late_fraction: 0.1
"""


def _counter(exposition: str, name: str, label: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith(name + "{") and label in line
    )


def test_random_sigkills_under_faults_count_every_cdr_once_and_lose_no_alert(
    tmp_path: Path,
) -> None:
    """SIGKILLed at random points while the API fails, the daemon counts each served CDR once."""
    from tests.receivers import HttpReceiver

    scenario = tmp_path / "chaos.yaml"
    scenario.write_text(CHAOS)
    sim = Simulator(
        tmp_path, "--accounts", "12", "--speed", "300", "--seed", "21", "--duration", "1h",
        "--scenario", str(scenario),
    )  # fmt: skip
    state = tmp_path / "state.sqlite"
    rng = random.Random(2026)
    with HttpReceiver() as hook:
        # the chaos publishes 10 % of CDRs up to an hour late: the daemon is told so
        poll = {"max_lag_s": 3700, "lateness_horizon_s": 14400}
        config = write_config(tmp_path, 300.0, poll=poll, alerting=fast_route("webhook"))
        env = {"CDR_DETECTOR_WEBHOOK_URL": f"{hook.url}/hook"}
        kills = 0
        while not sim.stats()["final"] and kills < 4:
            proc = daemon(tmp_path, sim, config, free_port(), env, f"daemon-{kills}")
            time.sleep(rng.uniform(1.0, 4.0))
            proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait(timeout=10)
            kills += 1
        port = free_port()
        last = daemon(tmp_path, sim, config, port, env, "daemon-last")
        try:
            wait_for(lambda: sim.stats()["final"], 120, "the simulated hour to end")
            served = sim.stats()["calls"]
            wait_for(lambda: processed(state) == served, 120, f"cdrs_processed == {served}")
            exposition = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        finally:
            assert last.stop() == 0, last.text()
        sim.proc.stop()
        bodies = [r.json() for r in hook.requests]
    assert kills >= 2
    assert processed(state) == served
    assert bodies, "the injected incidents raised no alert"
    # a kill between send and mark-sent may resend once; receivers dedupe on the delivery id
    check_delivery(state, bodies, resends=kills)
    api = "cdr_detector_api_requests_total"
    assert _counter(exposition, api, 'code="200"') > 0
    codes = ("500", "503", "429", "malformed")
    faults = sum(_counter(exposition, api, f'code="{c}"') for c in codes)
    assert faults > 0, "the injected faults were not counted"
