"""`serve_forever` as a real process: it serves, writes labels and exits cleanly on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

SCRIPT = """
import sys
from datetime import timedelta
from pathlib import Path
from detector.simulate import SimOptions, serve_forever
options = SimOptions(accounts=5, duration=timedelta(hours=1), speed=600.0)
serve_forever(options, "127.0.0.1", 0, Path(sys.argv[1]))
"""


def test_serve_forever_serves_writes_labels_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The blocking server announces its address, answers, and exits 0 on SIGTERM."""
    labels = tmp_path / "labels.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(labels)], stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        match = re.search(r"http://([\d.]+):(\d+)", banner)
        assert match, banner
        url = f"http://{match.group(1)}:{match.group(2)}/api/v1/partner/me"
        response = httpx.get(url, headers={"X-Auth-ID": "PA_SIM", "X-Auth-Token": "sim-token"})
        assert response.json()["auth_id"] == "PA_SIM"
        assert all(json.loads(line)["type"] for line in labels.read_text().splitlines())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
