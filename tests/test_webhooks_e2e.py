"""Trunk webhooks end to end, in real time: a dialer burst is alerted within 2 s of starting."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.daemon import ROOT, Simulator, daemon, free_port, wait_for, write_config

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


LONG_CALL = """
incidents:
  - {type: irsf, account: 0, start: 1h, duration: 1m, longest: 3h}
"""


def _open_alert(state: Path) -> tuple[list[str], set[str]] | None:
    """The evidence of the first `irsf-open-call` alert, and which of it was processed."""
    try:
        with sqlite3.connect(state) as conn:
            bodies = [json.loads(r[0]) for r in conn.execute("SELECT body FROM alerts")]
            hits = [b["evidence"]["call_ids"] for b in bodies if b["rule"] == "irsf-open-call"]
            if not hits:
                return None
            marks = ",".join("?" * len(hits[0]))
            done = {r[0] for t in ("seen", "early")
                    for r in conn.execute(f"SELECT id FROM {t} WHERE id IN ({marks})", hits[0])}  # noqa: S608  # fmt: skip
    except sqlite3.OperationalError:
        return None
    return list(hits[0]), done


def test_a_three_hour_call_to_a_risky_destination_alerts_while_it_runs(tmp_path: Path) -> None:
    """With the simulator's webhooks (600x), the `open` rule alerts on an IRSF incident's
    3-hour call to a risky destination two hours in, while no CDR of it was processed."""
    hooks_port = free_port()
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG_CALL)
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    shutil.copy(ROOT / "examples" / "open-calls" / "irsf-open-call.yaml", rules)
    sim = Simulator(
        tmp_path, "--accounts", "1", "--speed", "600", "--seed", "3", "--duration", "5h",
        "--start", "now", "--scenario", str(scenario),
        "--webhook-url", f"http://127.0.0.1:{hooks_port}/webhooks/vobiz", env=SECRET,
    )  # fmt: skip
    config = write_config(
        tmp_path, 600.0, rules={"dir": str(rules)},
        trunk_webhooks={"enabled": True, "listen": f"127.0.0.1:{hooks_port}", "window_s": 86400},
    )  # fmt: skip
    proc = daemon(tmp_path, sim, config, free_port(), SECRET, "daemon")
    try:
        evidence, done = wait_for(lambda: _open_alert(tmp_path / "state.sqlite"), 60,
                                  "the open-call alert")  # fmt: skip
        sim_time = sim.stats()["sim_time"]
    finally:
        code = proc.stop()
        sim.proc.stop()
    assert code == 0, proc.text()[-3000:]
    start = datetime.fromisoformat(sim.incidents()[0]["start"])
    print(f"open-call alert on {evidence} at sim time {sim_time} (incident began {start})")
    assert evidence
    assert done == set(), f"{done} already processed: the alert came after the CDR"
