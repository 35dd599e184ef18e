"""A simulated partner API whose whole run is already visible, for the investigation commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from detector.domain import CDR
from detector.simulate import IncidentSpec, Scenario, SimOptions, SimulatorServer, Traffic
from detector.simulate.responses import public
from detector.simulate.scenario import Chaos
from detector.source.normalize import normalize

START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = ("2026-03-01", "2026-03-02")
SURGE = IncidentSpec("no_answer_surge", 0, timedelta(days=1, hours=4), timedelta(hours=8))
SCENARIO = Scenario(incidents=(SURGE,), chaos=Chaos(cost_mismatch_rate=0.05))
OPTIONS = SimOptions(accounts=5, seed=5, duration=timedelta(days=2), start=START,
                     scenario=SCENARIO)  # fmt: skip
ENV = {"CDR_DETECTOR_AUTH_ID": OPTIONS.auth_id, "CDR_DETECTOR_AUTH_TOKEN": OPTIONS.auth_token}


@dataclass
class Clock:
    """A monotonic clock that moves only when set (or when a client sleeps on it)."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        """The current reading."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance instead of waiting."""
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class SimApi:
    """A running simulator past the end of its run."""

    traffic: Traffic
    options: SimOptions
    server: SimulatorServer
    clock: Clock
    url: str

    def rows(
        self, account: str | None = None, days: tuple[str, ...] = DAYS
    ) -> list[dict[str, Any]]:
        """Distinct wire rows (as served) of `account` starting on one of `days`."""
        found: dict[str, dict[str, Any]] = {}
        for row in self.traffic.rows:
            key = str(row.get("call_uuid") or row.get("uuid"))
            if account not in (None, row["account_auth_id"]):
                continue
            if str(row["start_time"])[:10] in days:
                found.setdefault(key, public(row))
        return list(found.values())

    def cdrs(self, account: str | None = None, days: tuple[str, ...] = DAYS) -> list[CDR]:
        """The same rows, normalised."""
        out = [normalize(r) for r in self.rows(account, days)]
        return [c for c in out if isinstance(c, CDR)]

    def busiest(self) -> str:
        """The busiest account (index 0 of the scenario: the no-answer surge)."""
        return self.traffic.accounts[0].auth_id


def options(shape: str = "a", **changes: Any) -> SimOptions:
    """The tests' simulator options in `shape`."""
    return replace(OPTIONS, shape=shape, **changes)  # type: ignore[arg-type]


@contextmanager
def serve(traffic: Traffic, opts: SimOptions) -> Iterator[SimApi]:
    """Serve `traffic` with every row already visible; stop afterwards."""
    clock = Clock()
    server = SimulatorServer(traffic, opts, clock=clock)
    clock.now = (traffic.final_at - opts.start).total_seconds() / opts.speed + 1.0
    host, port = server.start()
    try:
        yield SimApi(traffic, opts, server, clock, f"http://{host}:{port}/api/v1/partner")
    finally:
        server.stop()


def config(tmp: Path, url: str, mode: str = "global", **api: Any) -> Path:
    """A settings file pointing at `url`: a fast request rate, few retries, no state file."""
    path = tmp / f"config-{mode}.yaml"
    body = {
        "api": {"url": url, "rate_per_s": 1000, "max_retries": 1, "timeout_s": 5, **api},
        "poll": {"mode": mode.replace("-", "_")},
        "state": {"path": str(tmp / "absent-state.sqlite")},
    }
    path.write_text(yaml.safe_dump(body))
    return path


def day(text: str) -> date:
    """A YYYY-MM-DD day."""
    return date.fromisoformat(text)
