"""Real Prometheus and Alertmanager servers (the Debian binaries) on loopback, for tests.

Each starts from a config written into a temporary directory, listens on a free 127.0.0.1
port, is ready when its `/-/ready` answers, and is stopped by PID. Tests skip when the binary
is missing (`make test` installs both via `make system-deps`).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.daemon import free_port, wait_for


def binary(name: str) -> str:
    """Path of a Debian-packaged binary, or skip the test."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (`make system-deps` installs it)")
    return path


class Server:
    """A child process serving HTTP on a loopback port, logging to a file."""

    def __init__(self, args: list[str], log: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        handle = log.open("wb")
        self.popen = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT)
        wait_for(self._ready, 30, f"{args[0]} to be ready")

    def _ready(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.log.name} exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Terminate and wait."""
        if self.popen.poll() is None:
            self.popen.terminate()
        self.popen.wait(timeout=20)


class Prometheus(Server):
    """`prometheus` scraping `targets` every second and evaluating `rule_files` every second."""

    def __init__(
        self, tmp: Path, targets: list[str], rule_files: list[Path], alertmanager: str = ""
    ) -> None:
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [
                {"job_name": "cdr-detector", "static_configs": [{"targets": targets}]}
            ],
        }
        if alertmanager:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]
            }
        path = tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.data = tmp / "prometheus-data"
        self.data.mkdir(exist_ok=True)
        port = free_port()
        args = [
            binary("prometheus"), f"--config.file={path}", f"--storage.tsdb.path={self.data}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ]  # fmt: skip
        super().__init__(args, tmp / "prometheus.log", port)

    def api(self, path: str, **params: Any) -> Any:
        """GET /api/v1/PATH; returns `data`, asserting success (HTTP 400 = a PromQL error)."""
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: str = "2s") -> list[Any]:
        """A range query's result matrix (what a Grafana panel asks for)."""
        data = self.api("query_range", query=expr, start=start, end=end, step=step)
        result: list[Any] = data["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Prometheus holds now (pending or firing)."""
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts


class Alertmanager(Server):
    """`prometheus-alertmanager` routing every alert to one webhook at once."""

    def __init__(self, tmp: Path, webhook: str) -> None:
        config = {
            "route": {
                "receiver": "sink",
                "group_by": ["alertname", "rule"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "sink", "webhook_configs": [{"url": webhook}]}],
        }
        path = tmp / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config))
        storage = tmp / "alertmanager-data"
        storage.mkdir(exist_ok=True)
        port = free_port()
        args = [
            binary("prometheus-alertmanager"), f"--config.file={path}",
            f"--storage.path={storage}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=", "--log.level=warn",
        ]  # fmt: skip
        super().__init__(args, tmp / "alertmanager.log", port)
        self.address = f"127.0.0.1:{port}"


def backfill(data_dir: Path, openmetrics: str, work: Path) -> None:
    """Write historical samples (OpenMetrics text with timestamps) as TSDB blocks into
    `data_dir`, before Prometheus starts on it."""
    source = work / "backfill.om"
    source.write_text(openmetrics)
    done = subprocess.run(
        [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source),
         str(data_dir)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def now() -> float:
    """Wall-clock seconds (Prometheus's clock)."""
    return time.time()
