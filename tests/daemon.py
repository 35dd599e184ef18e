"""Helpers to run the simulator and the daemon as real processes on loopback ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"CDR_DETECTOR_AUTH_ID": "PA_E2E", "CDR_DETECTOR_AUTH_TOKEN": "e2e-token"}


def processed(state: Path) -> int:
    """`cdrs_processed` committed to a daemon's state file so far (0 before its first commit)."""
    try:
        with sqlite3.connect(state) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'cdrs_processed'").fetchone()
    except sqlite3.OperationalError:  # the daemon has not created its schema yet
        return 0
    return int(row[0]) if row else 0


def free_port() -> int:
    """A loopback port the OS just handed out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Proc:
    """A child process with its log file."""

    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        """Everything it wrote so far."""
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send `sig` and wait for the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        return self.popen.wait(timeout=timeout)


def spawn(
    args: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    *,
    prefix: list[str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> Proc:
    """Start `python -m detector ARGS` with output to `log`, optionally under a `prefix` command
    (e.g. `unshare …`) and with `preexec` run in the child before it starts (e.g. limits)."""
    handle = log.open("wb")
    popen = subprocess.Popen(
        [*(prefix or []), sys.executable, "-m", "detector", *args],
        stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
        env={**os.environ, **AUTH, **(env or {})}, preexec_fn=preexec,  # noqa: PLW1509
    )  # fmt: skip
    return Proc(popen, log)


class Simulator:
    """`cdr-detector simulate` in a child process."""

    def __init__(self, tmp: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.labels = tmp / "labels.jsonl"
        args = [
            "simulate",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--labels-out",
            str(self.labels),
            *extra,
        ]
        self.proc = spawn(args, tmp / "simulator.log", env)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(self._up, 60, "the simulator to listen")

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/_sim/stats", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stats(self) -> dict[str, Any]:
        """`/_sim/stats`: sim_time, visible, total, final."""
        body: dict[str, Any] = httpx.get(f"{self.url}/_sim/stats", timeout=5).json()
        return body

    def incidents(self) -> list[dict[str, Any]]:
        """The ground truth it wrote."""
        return [json.loads(line) for line in self.labels.read_text().splitlines() if line.strip()]


def write_config(tmp: Path, speed: float = 600.0, **sections: dict[str, Any]) -> Path:
    """A daemon config file in `tmp` with fast polling and the repo's rules.

    `speed` is the simulator's: each 0.2 s poll then stands for 0.2 × speed s of feed time.
    """
    body: dict[str, Any] = {
        "poll": {"interval_s": 0.2, "start_back_s": 86400, "feed_time_per_poll_s": 0.2 * speed},
        "api": {"rate_per_s": 100},
        "rules": {"dir": str(ROOT / "rules")},
        "log": {"format": "json"},
        "delivery": {"rate_per_s": 50, "burst": 50},  # the tests' receivers take any pace
    }
    for name, values in sections.items():
        body.setdefault(name, {}).update(values)
    path = tmp / "config.yaml"
    path.write_text(json.dumps(body))
    return path


def fast_route(*receivers: str) -> dict[str, Any]:
    """`alerting` settings sending every alert to `receivers` at once, one notice per alert."""
    return {
        "route": {
            "receiver": "null", "group_by": ["..."], "group_wait": "0s", "group_interval": "0s",
            "repeat_interval": "0s",
            "routes": [{"receiver": r, "continue": True} for r in receivers],
        }
    }  # fmt: skip


def delivered_alerts(bodies: list[Any]) -> list[dict[str, Any]]:
    """The alerts inside the notices a webhook received, in order."""
    return [alert for body in bodies for alert in body["alerts"]]


def check_delivery(state: Path, bodies: list[Any], resends: int) -> None:
    """Every alert the state recorded was told as the receiver would expect, none invented.

    A notice carries each alert's latest transition; a firing resolved before its notice went
    out is never told (Alertmanager's meaning), episode by episode: an alert that fired, was
    told, resolved, then fired and resolved again before a notice could go out (a restarted
    daemon catching up does that) has nothing more to tell. So: nothing delivered that was not
    recorded, every alert whose last transition fires was delivered, every episode whose
    firing was delivered had its resolution delivered when it resolved, and repeats are at
    most `resends` (a kill between send and bookkeeping).
    """
    with sqlite3.connect(state) as conn:
        rows = conn.execute("SELECT delivery_id, fingerprint, at, body FROM alerts").fetchall()
    recorded = {d: json.loads(b) for d, _, _, b in rows if '"shadow": true' not in b}
    episode: dict[str, list[dict[str, Any]]] = {}
    # an alert's transitions are ordered by the sequence in its delivery id, not by event time
    # (a late finding is stamped at the end of the window it reports on, maybe earlier); its
    # last episode is what followed its last resolution but one
    for d, fp, _at, _ in sorted(rows, key=lambda r: int(r[0].rsplit(":", 1)[1])):
        if d in recorded:
            before = episode.get(fp, [])
            fresh = bool(before) and before[-1]["status"] == "resolved"
            episode[fp] = [*([] if fresh else before), recorded[d]]
    sent = delivered_alerts(bodies)
    ids = [a["delivery_id"] for a in sent]
    assert set(ids) <= set(recorded), "a delivered alert was never recorded"
    for fp, transitions in episode.items():
        final = transitions[-1]
        told = any(t["delivery_id"] in ids for t in transitions if t["status"] == "firing")
        if final["status"] == "firing" or told:
            assert final["delivery_id"] in ids, f"{fp}: its last transition was not told"
    assert len(ids) - len(set(ids)) <= resends


def daemon(
    tmp: Path,
    sim: Simulator,
    config: Path,
    metrics_port: int,
    env: dict[str, str],
    name: str,
    **how: Any,
) -> Proc:
    """`cdr-detector run` against the simulator (`how`: `spawn`'s prefix and preexec)."""
    args = [
        "run", "--config", str(config), "--api-url", f"{sim.url}/api/v1/partner",
        "--state", str(tmp / "state.sqlite"), "--metrics-addr", f"127.0.0.1:{metrics_port}",
    ]  # fmt: skip
    return spawn(args, tmp / f"{name}.log", env, **how)
