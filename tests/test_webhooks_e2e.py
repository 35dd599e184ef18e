"""Trunk webhooks end to end, in real time: a dialer burst is alerted within 2 s of starting."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.daemon import Simulator, daemon, free_port, wait_for, write_config

pytestmark = pytest.mark.slow

SECRET = {"CDR_DETECTOR_TRUNK_WEBHOOK_SECRET": "e2e-trunk-secret"}
BURST = """
incidents:
  - {type: robocall, account: 0, start: 25s, duration: 30s, intensity: 120}
chaos:
  webhooks: {drop_rate: 0.05, duplicate_rate: 0.05, bad_signature_rate: 0.05, delay_s: 0.3}
"""


def _first_alert(state: Path, source: str) -> float | None:
    """When the first notification of rule `source` was queued (Unix seconds), if yet."""
    try:
        with sqlite3.connect(state) as conn:
            rows = conn.execute("SELECT created_at, payload FROM outbox").fetchall()
    except sqlite3.OperationalError:
        return None
    notices = [(at, json.loads(body)) for at, body in rows]
    times = [at for at, notice in notices if any(a["rule"] == source for a in notice["alerts"])]
    return min(times, default=None)


def test_a_dialer_burst_is_alerted_within_two_seconds_of_its_first_attempts(
    tmp_path: Path,
) -> None:
    """At real time (speed 1), with lost, repeated, late and forged webhooks, the burst's
    CallInitiated events raise the attempt-rate alert within 2 s of its first attempt (that
    the poller and the Hangups count each call once is `test_webhooks.py`'s property test)."""
    hooks_port = free_port()
    url = f"http://127.0.0.1:{hooks_port}/webhooks/vobiz"
    scenario = tmp_path / "burst.yaml"
    scenario.write_text(BURST)
    sim = Simulator(
        tmp_path, "--accounts", "4", "--speed", "1", "--seed", "8", "--duration", "1m",
        "--start", "now", "--scenario", str(scenario), "--webhook-url", url,
        env=SECRET,
    )  # fmt: skip
    config = write_config(
        tmp_path, 1.0, poll={"interval_s": 2, "start_back_s": 600},
        trunk_webhooks={"enabled": True, "listen": f"127.0.0.1:{hooks_port}"},
    )  # fmt: skip
    state = tmp_path / "state.sqlite"
    proc = daemon(tmp_path, sim, config, free_port(), SECRET, "daemon")
    try:
        wait_for(lambda: _first_alert(state, "attempts:rate"), 90, "the attempt-rate alert")
        alerted = _first_alert(state, "attempts:rate")
        offset = time.time() - datetime.fromisoformat(sim.stats()["sim_time"]).timestamp()
        began = datetime.fromisoformat(sim.incidents()[0]["start"]).timestamp() + offset
    finally:
        code = proc.stop()
        sim.proc.stop()
    assert code == 0, proc.text()[-3000:]
    assert alerted is not None
    print(f"attempt-rate alert queued {alerted - began:.2f} s after the burst's first attempt")
    assert alerted - began <= 2.0, f"alerted {alerted - began:.2f} s after the first attempt"
