"""End to end with real processes: simulator → `cdr-detector run` → Slack, SMTP and /metrics."""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
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
from tests.receivers import HttpReceiver, SmtpReceiver

pytestmark = pytest.mark.slow

ROBOCALL = "incidents:\n  - {type: robocall, account: 0, start: 10m, duration: 30m}\n"


def test_injected_burst_alerts_on_slack_and_email_and_metrics_count_ingest(tmp_path: Path) -> None:
    """An injected robocall burst alerts on Slack and real SMTP; /metrics counts the ingest."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(ROBOCALL)
    args = ["--accounts", "8", "--speed", "600", "--seed", "3", "--duration", "2h"]
    sim = Simulator(tmp_path, *args, "--scenario", str(scenario))
    victim = sim.incidents()[0]["account"]
    with HttpReceiver() as slack, SmtpReceiver() as smtp:
        config = write_config(
            tmp_path, email={"host": "127.0.0.1", "port": smtp.port, "to": ["fraud@example.com"]},
            alerting=fast_route("slack", "email"), metrics={"status_api": True},
        )  # fmt: skip
        port = free_port()
        env = {"CDR_DETECTOR_SLACK_WEBHOOK": f"{slack.url}/services/T000/B000/secret"}
        proc = daemon(tmp_path, sim, config, port, env, "daemon")
        try:
            wait_for(
                lambda: any(victim in r.body.decode() for r in slack.requests),
                90,
                "a Slack alert on the victim",
            )
            wait_for(
                lambda: any(victim in str(m["Subject"]) for m in smtp.messages),
                30,
                "an email on the victim",
            )
            chart = _chart_of_an_alert(slack, port)
            exposition = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        finally:
            code = proc.stop()
        sim.proc.stop()
    assert code == 0, proc.text()
    assert chart[:4] == b"\x89PNG"
    ingested = [
        line
        for line in exposition.splitlines()
        if line.startswith("cdr_detector_cdrs_ingested_total{")
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in ingested) > 0
    assert "secret" not in proc.text()
    promtool = shutil.which("promtool")
    if promtool:
        check = subprocess.run(
            [promtool, "check", "metrics"],
            input=exposition,
            text=True,
            capture_output=True,
            check=False,
        )
        assert check.returncode == 0, check
        assert not (check.stdout + check.stderr).strip(), check


def _chart_of_an_alert(slack: HttpReceiver, port: int) -> bytes:
    """The PNG the status page serves for an alert Slack was told about, once the daemon has
    read the account's calls from the simulator's API on its side thread."""
    pages = re.findall(
        r"/api/alerts/([0-9a-f]{16})", " ".join(r.body.decode() for r in slack.requests)
    )
    found: list[bytes] = []

    def served() -> bool:
        for fingerprint in dict.fromkeys(pages):
            got = httpx.get(
                f"http://127.0.0.1:{port}/api/alerts/{fingerprint}/chart.png", timeout=5
            )
            if got.status_code == 200:
                found.append(got.content)
                return True
        return False

    wait_for(served, 30, "a chart on the status page")
    return found[0]


def test_sigkilled_daemon_resumes_without_losing_or_recounting_a_cdr(tmp_path: Path) -> None:
    """SIGKILLed twice and restarted, the daemon counts exactly the CDRs served, losing no alert."""
    sim = Simulator(
        tmp_path, "--accounts", "10", "--speed", "400", "--seed", "5", "--duration", "1h"
    )
    state = tmp_path / "state.sqlite"
    rng = random.Random(11)
    with HttpReceiver() as hook:
        config = write_config(tmp_path, 400.0, alerting=fast_route("webhook"))
        env = {"CDR_DETECTOR_WEBHOOK_URL": f"{hook.url}/hook"}
        for n in range(2):
            proc = daemon(tmp_path, sim, config, free_port(), env, f"daemon-{n}")
            wait_for(lambda: processed(state) > 0, 60, "the daemon to commit a cycle")
            time.sleep(rng.uniform(0.5, 3.0))
            proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait(timeout=10)
        last = daemon(tmp_path, sim, config, free_port(), env, "daemon-last")
        try:
            wait_for(lambda: sim.stats()["final"], 120, "the simulated hour to end")
            served = sim.stats()["calls"]
            wait_for(lambda: processed(state) == served, 120, f"cdrs_processed == {served}")
        finally:
            assert last.stop() == 0, last.text()
        sim.proc.stop()
        assert processed(state) == served
        bodies = [r.json() for r in hook.requests]
    assert bodies, "no alert was delivered at all"
    check_delivery(state, bodies, resends=2)  # at most one resend per kill
