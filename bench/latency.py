"""`python -m bench.latency`: from a short call becoming known to the detector, polling only
and with trunk webhooks, at 1, 10 and 100 CDR/s in real time (issue 16).

Traffic is `bench.poller`'s (Poisson arrivals at the rate; 45 % unanswered, ringing up to 60 s;
lognormal talk; the CDR listed 2–8 s after the call ends), starting now, served in real time by
the real `SimulatorServer`. The real daemon (`assembly.build_service`: default poller settings,
latency first, `poll.interval_s` 10 unless `--interval`, `api.rate_per_s` 5, the shipped
rules, no model; `poll.start_back_s` 600, so the calls already running when it anchors are
watched too) tails it, polling only, or with trunk webhooks on and the simulator's
`HookSender` posting each call's signed CallInitiated at its start and Hangup at its end to
the daemon's receiver.

Measured: each call of the head (talk under 90 s: unanswered, one-ring and short calls, what
robocall and Wangiri bursts are made of) made known between the end of a warm-up minute and a
minute before the run's end, from when the platform first made it known — its CDR listed by
the API (polling), or its Hangup posted (webhooks) — to the commit of the cycle that processed
it; one still unprocessed at the end shows as "> 60 s" (the tail). An alert is committed by
the cycle that processes the call tipping it, so this is also visibility → alert (the
notification stage's own wait is `bench.alert_latency`'s figure). Printed per rate and mode:
p50 and p95, the requests per CDR the poller made after warm-up, and the issue's limit 1.5 ×
max(1/100, 1 per poll interval). Requests per CDR at 1,000 CDR/s are `bench.poller`'s
(requests taking no time): in real time one process cannot serve, post and detect that many.

Arguments: `--rates 1,10,100`, `--modes poll,webhooks`, `--minutes M` measured per run
(default 3; each run lasts M + 1 minutes), `--interval S` the daemon's `poll.interval_s`
(default 10; above 30 s the warm-up and the tail are two intervals each instead of a minute,
so the warm-up spans polls and every call listed in the measured span is polled; a run then
lasts M minutes + two intervals).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.poller import add_interval, traffic
from detector import logs
from detector.assembly import build_service
from detector.config import load_settings
from detector.metrics import Metrics
from detector.pipeline import Step
from detector.secret import AUTH_ID_ENV, AUTH_TOKEN_ENV
from detector.simulate import SimOptions, SimulatorServer, Traffic
from detector.simulate.hooks import HookSender
from detector.source.rows import PollResult
from detector.webhooks.wiring import start_intake

ROOT = Path(__file__).resolve().parents[1]
INTERVAL_S = 10.0
HEAD_S = 90
WARMUP_S = 60.0
TAIL_S = 60.0
"""Warm-up and tail at the default interval; at a longer one, two intervals each (`margin`)."""
SECRET = "bench-trunk-secret"  # noqa: S105 - the bench's own signing secret


class Run:
    """One rate and mode: the simulator, the daemon and what the observer measured."""

    def __init__(
        self, rate: float, webhooks: bool, minutes: float, tmp: Path, interval_s: float = INTERVAL_S
    ) -> None:
        self.rate, self.webhooks, self.tmp = rate, webhooks, tmp
        self.interval_s = interval_s
        self.warmup_s, self.tail_s = margin(interval_s)
        self.span_s = self.warmup_s + minutes * 60
        now = datetime.now(UTC).replace(microsecond=0)
        self.rows = traffic(rate, self.span_s + 120, seed=11, start=now)
        self.known = _known(self.rows, webhooks)
        """Call id → when the platform first made it known (wall s): listed, or hung up."""
        self.talk = {str(r["call_uuid"]): int(str(r["duration_seconds"])) for r in self.rows.rows}
        span = timedelta(seconds=max(self.rows.available) - now.timestamp() + 60)
        options = SimOptions(speed=1.0, start=now, duration=span)
        self.server = SimulatorServer(self.rows, options, clock=time.time)
        self.t0 = now.timestamp()
        self.latencies: dict[str, float] = {}
        self.hook_port = _free_port()
        self.requests = self.cdrs = 0

    def observe(self, result: PollResult, _step: Step) -> None:
        """Time each call the cycle processed; count requests and CDRs after warm-up."""
        now = time.time()
        for cdr in result.cdrs:
            known = self.known.get(cdr.call_id)
            if known is not None:
                self.latencies[cdr.call_id] = now - known
        if now - self.t0 >= self.warmup_s:
            self.requests += result.requests
            self.cdrs += len(result.cdrs)

    def go(self) -> None:
        """Serve, run the daemon for the span, stop everything."""
        host, port = self.server.start()
        service, intake = self._daemon(f"http://{host}:{port}/api/v1/partner")
        sender = None
        if intake is not None:
            url = f"http://127.0.0.1:{self.hook_port}/webhooks/vobiz"
            now = lambda: self.server.sim_now().timestamp()  # noqa: E731
            sender = HookSender(self.rows, url, SECRET.encode(), now)
            sender.start()
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        try:
            time.sleep(max(0.0, self.t0 + self.span_s - time.time()))
        finally:
            service.stopping.set()
            thread.join(60)
            if sender is not None:
                sender.stop()
            if intake is not None:
                intake.stop()
            self.server.stop()
            service.store.close()

    def _daemon(self, url: str) -> tuple[Any, Any]:
        listen = f"127.0.0.1:{self.hook_port}"
        config = {
            "api": {"url": url},
            "poll": {"interval_s": self.interval_s, "start_back_s": 600},
            "state": {"path": str(self.tmp / "state.sqlite")},
            "rules": {"dir": str(ROOT / "rules")},
            "model": {"enabled": False},
            "metrics": {"listen": "127.0.0.1:0"},
            "log": {"format": "json", "level": "error"},
            "alerting": {"enrichment": {"enabled": False}},
            "trunk_webhooks": {"enabled": self.webhooks, "listen": listen},
        }
        path = self.tmp / "config.yaml"
        path.write_text(json.dumps(config))
        os.environ.update({AUTH_ID_ENV: "PA_SIM", AUTH_TOKEN_ENV: "sim-token",
                           "CDR_DETECTOR_TRUNK_WEBHOOK_SECRET": SECRET})  # fmt: skip
        settings = load_settings(path)
        metrics = Metrics()
        service = build_service(settings, metrics, logs.get("service"))
        service.observer = self.observe
        return service, start_intake(settings, service.hooks, metrics, logs.get("service"))

    def line(self) -> str:
        """The figures of this run."""
        mode = "webhooks" if self.webhooks else "polling"
        limit = 1.5 * max(0.01, 1.0 / (self.rate * self.interval_s))
        per_cdr = self.requests / self.cdrs if self.cdrs else math.nan
        low, high = self.t0 + self.warmup_s, self.t0 + self.span_s - self.tail_s
        head = [i for i, t in self.known.items() if low <= t < high and self.talk[i] < HEAD_S]
        if not head:
            return f"  {self.rate:>5g} CDR/s  {mode:9} no head call measured"
        values = sorted(self.latencies.get(i, math.inf) for i in head)
        at = (values[min(len(values) - 1, int(q * len(values)))] for q in (0.5, 0.95))
        p50, p95 = (_show(v, self.tail_s) for v in at)
        return (f"  {self.rate:>5g} CDR/s  {mode:9} p50 {p50}  p95 {p95}  ({len(values)} head "
                f"calls)  requests/CDR {per_cdr:.4f} (limit {limit:.4f})")  # fmt: skip


def _known(rows: Traffic, webhooks: bool) -> dict[str, float]:
    """When each call becomes known: its listing, or with webhooks its end if earlier."""
    out = {}
    for row, visible in zip(rows.rows, rows.available, strict=True):
        end = datetime.fromisoformat(str(row["end_time"]).replace("Z", "+00:00")).timestamp()
        out[str(row["call_uuid"])] = min(visible, end) if webhooks else visible
    return out


def margin(interval_s: float) -> tuple[float, float]:
    """Warm-up and tail (s) of a run polled every `interval_s`: a minute each up to 30 s.

    >>> margin(10.0), margin(60.0)
    ((60.0, 60.0), (120.0, 120.0))
    """
    return (WARMUP_S, TAIL_S) if interval_s <= 30 else (2 * interval_s, 2 * interval_s)


def _show(seconds: float, tail_s: float) -> str:
    """A latency, or how long the run waited for a call still unprocessed at its end."""
    return f"> {tail_s:.0f} s" if math.isinf(seconds) else f"{seconds:5.1f} s"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: Sequence[str] = ()) -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.latency")
    parser.add_argument("--rates", default="1,10,100")
    parser.add_argument("--modes", default="poll,webhooks")
    parser.add_argument("--minutes", type=float, default=3.0)
    add_interval(parser)
    args = parser.parse_args(list(argv))
    warmup_s, _ = margin(args.interval)
    logs.configure("json", "error", stream=open(os.devnull, "w"))  # noqa: SIM115
    print(f"known -> detector (real time; poll interval {args.interval:g} s; talk under {HEAD_S} s;"
          f" {args.minutes:g} min per run after a {warmup_s:.0f} s warm-up)")  # fmt: skip
    for rate in (float(r) for r in args.rates.split(",")):
        for mode in args.modes.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                run = Run(rate, mode == "webhooks", args.minutes, Path(tmp), args.interval)
                run.go()
                print(run.line(), flush=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
