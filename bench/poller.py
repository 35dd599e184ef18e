"""`python -m bench.poller`: API requests per new CDR of the tailing poller, next to the floor.

Drives the real `Poller` and `CdrApi` against the real `SimulatorServer` on 127.0.0.1, with a
manual clock so simulated time only moves when the benchmark says so (fast, deterministic).
Traffic is written directly as rows (Poisson arrivals; 45 % unanswered; lognormal talk time;
ring and publishing lag as the simulator draws them) at about 10, 100 and 1,000 CDR/s.
Steady state: the poller starts 10 minutes into the traffic, polls every 10 s through a
warm-up, then through the measured period; every request counts (all tiers, resumes,
fallbacks). The floor is one full page per 100 new CDRs (0.01). Backlog: the poller
starts with one hour of history at 100 CDR/s behind it, at the client's default 5
requests/s, and the time until a poll reports `complete` is the catch-up time in simulated
seconds (the rate limit's waits advance the manual clock).
The simulator answers filtered queries by scanning every row, so runs are kept short (see
`RUNS`: the 1,000 CDR/s run measures one minute, before its longer tiers reach steady state)
and the whole benchmark still takes many minutes; pass rates to run only some of it.
"""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from detector.simulate import SimOptions, SimulatorServer, Traffic
from detector.simulate.scenario import Chaos
from detector.source.client import CdrApi
from detector.source.normalize import normalize
from detector.source.poller import Poller, PollerConfig

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
INTERVAL_S = 10.0
FLOOR = 0.01


@dataclass
class Clock:
    """The manual clock: seconds since the start, moved by `sleep` and by the benchmark."""

    t: float = 0.0

    def now(self) -> float:
        """Seconds elapsed."""
        return self.t

    def sleep(self, seconds: float) -> None:
        """Let time pass (the client's rate-limit and backoff waits)."""
        self.t += seconds


def traffic(rate: float, span_s: float, seed: int = 7) -> Traffic:
    """Rows at `rate` CDR/s started over `span_s` seconds from START, in shape A."""
    rng = np.random.default_rng(seed)
    n = int(rng.poisson(rate * span_s))
    starts = np.sort(np.floor(rng.uniform(0, span_s, n))) + START.timestamp()
    answered = rng.random(n) < 0.55
    talk = np.where(answered, np.clip(np.round(rng.lognormal(np.log(90), 1.0, n)), 1, 3 * 3600), 0)
    ring = np.where(
        answered, np.clip(rng.lognormal(np.log(8), 0.4, n), 1, 45), rng.uniform(0, 60, n)
    )
    available = starts + ring + talk + rng.uniform(2, 8, n)
    order = np.argsort(available, kind="stable")
    rows = [_row(float(starts[i]), float(ring[i]), int(talk[i])) for i in order]
    return Traffic(
        rows=rows,
        available=[float(available[i]) for i in order],
        starts=[float(starts[i]) for i in order],
        labels=[],
        accounts=[],
        chaos=Chaos(),
    )


def _row(start: float, ring: float, talk: int) -> dict[str, object]:
    """One shape-A wire row."""
    at = datetime.fromtimestamp(start, tz=UTC)
    end = at + timedelta(seconds=ring + talk)
    return {
        "call_uuid": str(uuid.uuid4()),
        "from_number": "+919876500001",
        "to_number": "+919812345678",
        "direction": "outbound",
        "status": "answered" if talk else "no-answer",
        "duration_seconds": talk,
        "hangup_cause": "NORMAL_CLEARING" if talk else "NO_ANSWER",
        "cost": 0.0,
        "currency": "INR",
        "start_time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "answer_time": None,
        "end_time": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "account_auth_id": "MA_BENCH001",
        "trunk_id": "trunk_1",
        "context": "sip-trunking",
    }


class Harness:
    """A simulator on loopback, a poller on it, and a committed seen set."""

    def __init__(self, rows: Traffic, config: PollerConfig, rate_per_s: float) -> None:
        self.clock = Clock()
        options = SimOptions(speed=1.0, start=START)
        self.server = SimulatorServer(rows, options, clock=self.clock.now)
        host, port = self.server.start()
        self.api = CdrApi(
            f"http://{host}:{port}/api/v1/partner",
            options.auth_id,
            options.auth_token,
            rate_per_s=rate_per_s,
            clock=self.clock.now,
            sleep=self.clock.sleep,
        )
        sim_now = self.server.sim_now
        self.poller = Poller(self.api, normalize, config, sim_now)
        self.cursor: dict[str, object] | None = None
        self.committed: set[str] = set()

    def seen(self, ids: Collection[str]) -> set[str]:
        """The committed subset of `ids`."""
        return {i for i in ids if i in self.committed}

    def poll(self) -> tuple[int, int, bool]:
        """One poll and commit: (requests, new rows, complete)."""
        result = self.poller.poll(self.cursor, self.seen)
        self.committed.update(key for key, _ in result.new_ids)
        self.cursor = result.cursor
        return result.requests, len(result.new_ids), result.complete

    def close(self) -> None:
        """Stop the server and the client."""
        self.api.close()
        self.server.stop()


def steady(rate: float, pre_s: float, warm_s: float, measure_s: float) -> tuple[int, int]:
    """Requests and new CDRs over `measure_s`, after `warm_s` of polling every 10 s.

    The poller starts `pre_s` into the traffic and polls through the warm-up first, so the
    calls that started before its floor have landed and the long tiers have been read.
    """
    end = pre_s + warm_s + measure_s
    # a poll at 1,000 CDR/s brings ~100 pages: the page budget must not be the bottleneck
    config = PollerConfig(max_pages_per_cycle=max(50, int(rate * INTERVAL_S / 100 * 4)))
    harness = Harness(traffic(rate, end), config, rate_per_s=1e6)
    harness.clock.t = pre_s
    requests = new = 0
    try:
        harness.poll()
        while harness.clock.t < end:
            harness.clock.t += INTERVAL_S
            r, n, _ = harness.poll()
            if harness.clock.t > pre_s + warm_s:
                requests, new = requests + r, new + n
    finally:
        harness.close()
    return requests, new


def backlog(rate: float, hours: float) -> tuple[float, int, int]:
    """Simulated seconds, requests and CDRs to catch up `hours` of history at `rate` CDR/s."""
    span = hours * 3600
    rows = traffic(rate, span + 60)
    config = PollerConfig(start_back_s=span)
    harness = Harness(rows, config, rate_per_s=5.0)
    harness.clock.t = span + 60
    requests = new = 0
    began = harness.clock.t
    try:
        while True:
            r, n, complete = harness.poll()
            requests, new = requests + r, new + n
            if complete:
                break
            harness.clock.t += INTERVAL_S
    finally:
        harness.close()
    return harness.clock.t - began, requests, new


RUNS = {10: (600, 3600, 3600), 100: (600, 1200, 600), 1000: (300, 900, 120)}


def main() -> None:
    """Print the figures: `python -m bench.poller [10|100|1000|backlog ...]` (default: all)."""
    picked = sys.argv[1:] or [*map(str, RUNS), "backlog"]
    print("steady state, polled every 10 s (all tiers and resumes included), per_page 100")
    print(f"{'CDR/s':>7}{'measured':>10}{'new CDRs':>10}{'requests':>10}{'req/CDR':>10}"
          f"{'floor':>8}{'x floor':>9}")  # fmt: skip
    for rate, (pre, warm, measure) in RUNS.items():
        if str(rate) not in picked:
            continue
        requests, new = steady(rate, pre, warm, measure)
        per = requests / new if new else math.inf
        print(
            f"{rate:>7}{measure:>9}s{new:>10,}{requests:>10,}{per:>10.4f}"
            f"{FLOOR:>8.2f}{per / FLOOR:>9.2f}",
            flush=True,
        )
    if "backlog" in picked:
        seconds, requests, new = backlog(100, 1.0)
        print(
            f"backlog: 1 h at 100 CDR/s ({new:,} CDRs) caught up in {seconds:,.0f} s simulated "
            f"with {requests:,} requests at 5 requests/s (floor {math.ceil(new / 100) / 5:,.0f} s)"
        )


if __name__ == "__main__":
    main()
