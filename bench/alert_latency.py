"""`python -m bench.alert_latency`: from a CDR becoming visible to its alert reaching Slack.

The real simulator (`SimulatorServer`, in real time by default) serves background traffic with
24 incidents (robocall, IRSF, Wangiri, sequential dialing: short calls, so the figure is not
the long-call tiers' latency) starting a minute in, one every 20 simulated seconds; the real
daemon (`assembly.build_service`: poller, detector, state file, notification stage, couriers)
tails it with `poll.interval_s` and a route whose `group_wait` is set; a local HTTP server
stands in for the Slack webhook and records when each message arrives. For each alert's first
FIRING, its trigger is the newest of its evidence calls that the committing cycle read (the
call that crossed the threshold is the last one added to the evidence); its visibility is the
simulator's `available_at` for that row, converted to wall time; the Slack message that first
names the alert (by the fingerprint in its "Open" button) is its arrival. Printed: median and
p95 in seconds, and the target `interval_s + group_wait + 2 s`:

- visible → committed: the poller finding the call (tier cadences) plus detection and commit;
- committed → Slack: the notification stage (group wait), pacing and the HTTP post;
- visible → Slack: the whole path.

Arguments: `--speed X` runs the simulator X times faster and divides interval and group wait
by X (every wait scales, so figures are reported in simulated seconds); `--minutes M` is the
simulated time to run after the first incident (default 8).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from detector import logs
from detector.assembly import build_service
from detector.config import load_settings
from detector.metrics import Metrics
from detector.pipeline import Step
from detector.secret import AUTH_ID_ENV, AUTH_TOKEN_ENV
from detector.simulate import SimOptions, SimulatorServer, generate
from detector.simulate.scenario import parse_scenario
from detector.source.rows import PollResult

ROOT = Path(__file__).resolve().parents[1]
TYPES = ("robocall", "irsf", "wangiri", "sequential_dialing")
INCIDENTS = 24


class Sink:
    """A Slack stand-in: records (wall time, body) of every POST and answers `ok`."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.received.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T/B/bench"


def scenario(start_minute: int) -> Any:
    """`INCIDENTS` incidents on as many accounts, one every 20 simulated seconds."""
    incidents = []
    for i in range(INCIDENTS):
        offset = start_minute * 60 + i * 20
        start = f"{offset // 60}m{offset % 60}s"
        incidents.append({"type": TYPES[i % len(TYPES)], "account": i, "start": start,
                          "duration": "20m"})  # fmt: skip
    return parse_scenario({"incidents": incidents}, "bench")


def main(argv: Sequence[str] = ()) -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.alert_latency")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--group-wait", type=float, default=30.0)
    args = parser.parse_args(list(argv))
    speed, history_min = args.speed, 20
    now = datetime.now(UTC).replace(microsecond=0)
    options = SimOptions(
        accounts=40, speed=speed, seed=17, start=now - timedelta(minutes=history_min),
        duration=timedelta(minutes=history_min + 3 + args.minutes + 30),
        scenario=scenario(history_min + 1),
    )  # fmt: skip
    traffic = generate(options)
    visible_at = {
        str(r.get("call_uuid") or r.get("uuid")): t
        for r, t in zip(traffic.rows, traffic.available, strict=True)
    }
    server = SimulatorServer(traffic, options, clock=time.time)
    t0, host_port = time.time(), server.start()
    sim_start = options.start.timestamp()

    def wall(sim_epoch: float) -> float:
        return t0 + (sim_epoch - sim_start) / speed

    sink = Sink()
    commits: dict[str, tuple[float, float]] = {}
    """fingerprint → (wall time its first FIRING committed, wall time its trigger was visible)."""

    def observe(result: PollResult, step: Step) -> None:
        ids = {c.call_id for c in result.cdrs}
        for alert in step.alerts:
            seen = [visible_at[c] for c in alert.evidence if c in ids and c in visible_at]
            firing = alert.status.value == "firing" and not alert.shadow
            if seen and firing and alert.fingerprint not in commits:
                commits[alert.fingerprint] = (time.time(), wall(max(seen)))

    with tempfile.TemporaryDirectory() as tmp:
        service, thread = _daemon(Path(tmp), host_port, sink, args, observe)
        end = t0 + (history_min + 3 + args.minutes) * 60 / speed
        try:
            while time.time() < end:
                time.sleep(1.0)
        finally:
            service.stopping.set()
            thread.join(60)
            server.stop()
            sink.server.shutdown()
    _report(sink, commits, args, speed)


def _daemon(tmp: Path, host_port: tuple[str, int], sink: Sink, args: Any, observe: Any) -> Any:
    host, port = host_port
    speed = args.speed
    config = {
        "api": {"url": f"http://{host}:{port}/api/v1/partner", "rate_per_s": 20},
        "poll": {"interval_s": args.interval / speed, "start_back_s": 1200,
                 "feed_time_per_poll_s": args.interval},
        "state": {"path": str(tmp / "state.sqlite")},
        "rules": {"dir": str(ROOT / "rules")},
        "model": {"enabled": False},
        "metrics": {"listen": "127.0.0.1:0"},
        "log": {"format": "json", "level": "warning"},
        "alerting": {"route": {"receiver": "slack", "group_wait": args.group_wait / speed},
                     "enrichment": {"enabled": False}},
    }  # fmt: skip
    path = tmp / "config.yaml"
    path.write_text(json.dumps(config))
    os.environ.update({AUTH_ID_ENV: "PA_SIM", AUTH_TOKEN_ENV: "sim-token",
                       "CDR_DETECTOR_SLACK_WEBHOOK": sink.url})  # fmt: skip
    settings = load_settings(path)
    logs.configure("json", "warning", stream=open(os.devnull, "w"))  # noqa: SIM115
    service = build_service(settings, Metrics(), logs.get("service"))
    service.observer = observe
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    return service, thread


def _report(sink: Sink, commits: dict[str, tuple[float, float]], args: Any, speed: float) -> None:
    rows: list[tuple[float, float, float]] = []
    for arrived, body in sink.received:
        for fingerprint in _fingerprints(body):
            if fingerprint in commits:
                committed, visible = commits.pop(fingerprint)
                rows.append((committed - visible, arrived - committed, arrived - visible))
    target = args.interval + args.group_wait + 2
    print(f"alert latency (simulated seconds; speed {speed:g}x, interval {args.interval:g} s, "
          f"group wait {args.group_wait:g} s): {len(rows)} alerts in {len(sink.received)} "
          "Slack messages")  # fmt: skip
    if not rows:
        print("  no alert reached the sink")
        return
    for i, name in enumerate(("visible → committed", "committed → Slack", "visible → Slack")):
        values = sorted(r[i] * speed for r in rows)
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"  {name:22} median {statistics.median(values):6.1f} s   p95 {p95:6.1f} s")
    print(f"  target (interval + group wait + 2 s): {target:.0f} s")


def _fingerprints(body: dict[str, Any]) -> list[str]:
    """The alerts a Slack message names, from its "Open" buttons (`open-<fingerprint>`)."""
    return [
        str(element["action_id"]).removeprefix("open-")
        for block in body.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
