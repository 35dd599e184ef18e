"""`cdr-detector demo`: the simulator and the daemon together on loopback, watched live.

The simulator serves the built-in scenario (every incident type it knows) faster than real
time; the daemon tails it exactly as it would tail Vobiz, with a throw-away state file. The
terminal shows traffic per account and each alert as it fires, next to the injected ground
truth so you can see what was caught. Logs go to a file in the temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from detector import logs
from detector.assembly import build_service
from detector.config import load_settings
from detector.domain import AlertStatus
from detector.http import HttpServer
from detector.metrics import Metrics
from detector.pipeline import Step
from detector.secret import AUTH_ID_ENV, AUTH_TOKEN_ENV
from detector.simulate import SimOptions, SimulatorServer, generate
from detector.source.rows import PollResult

RULES_DIR = Path("rules")


class Board:
    """What the live view shows, fed by the service's observer hook."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.short: Counter[str] = Counter()
        self.firing: dict[str, set[str]] = {}
        self.alerts: deque[tuple[str, str, str, str, str, str]] = deque(maxlen=14)
        self.total = 0
        self.fired = 0
        self.lock = threading.Lock()

    def observe(self, result: PollResult, step: Step) -> None:
        """Count one cycle's CDRs and alerts."""
        with self.lock:
            for cdr in result.cdrs:
                self.calls[cdr.account] += 1
                self.answered[cdr.account] += cdr.answered
                self.short[cdr.account] += cdr.answered and cdr.talk_s < 6
            self.total += len(result.cdrs)
            for a in step.alerts:
                if a.shadow:
                    continue
                firing = self.firing.setdefault(a.account, set())
                if a.status is AlertStatus.FIRING:
                    self.fired += 1
                    firing.add(a.source)
                else:
                    firing.discard(a.source)
                at = a.at.strftime("%a %H:%M")
                self.alerts.appendleft(
                    (at, a.status.value, a.severity.label, a.source, a.account, a.summary)
                )


def _accounts_table(board: Board) -> Table:
    table = Table(
        "account",
        "calls",
        "ASR",
        "short",
        "alerts firing",
        title="Traffic per account (busiest and alerting)",
    )
    alerting = [a for a, rules in board.firing.items() if rules]
    busiest = [a for a, _ in board.calls.most_common(10)]
    for account in dict.fromkeys([*alerting, *busiest]):
        calls = board.calls[account]
        asr = board.answered[account] / calls if calls else 0.0
        rules = ", ".join(sorted(board.firing.get(account, ())))
        style = "bold red" if rules else ""
        table.add_row(
            account,
            f"{calls:,}",
            f"{asr:.0%}",
            f"{board.short[account]:,}",
            Text(rules),
            style=style,
        )
    return table


def _alerts_table(board: Board) -> Table:
    table = Table(
        "event time", "status", "severity", "rule / model", "account", "summary", title="Alerts"
    )
    for at, status, severity, source, account, summary in board.alerts:
        colour = (
            "green" if status == "resolved" else ("red" if severity == "critical" else "yellow")
        )
        table.add_row(at, Text(status, style=colour), severity, source, account, Text(summary[:90]))
    return table


def _view(board: Board, sim: SimulatorServer, truth: list[Any], url: str) -> Group:
    with board.lock:
        head = Text(
            f"sim time {sim.sim_now():%a %Y-%m-%d %H:%M} UTC · {board.total:,} CDRs ingested · "
            f"{board.fired} alerts fired · metrics {url} · Ctrl-C to stop",
            style="bold",
        )
        labels = Table("injected incident", "account", "start (UTC)", "end", title="Ground truth")
        for label in truth[:10]:
            labels.add_row(
                label.type, label.account, f"{label.start:%a %H:%M}", f"{label.end:%H:%M}"
            )
        return Group(head, _accounts_table(board), _alerts_table(board), labels)


def run_demo(*, accounts: int, speed: float, seed: int, stop_after: float) -> None:
    """Run simulator + daemon until Ctrl-C (or `stop_after` wall seconds)."""
    options = SimOptions(accounts=accounts, speed=speed, seed=seed)
    traffic = generate(options)
    sim = SimulatorServer(traffic, options)
    host, port = sim.start()
    workdir = Path(tempfile.mkdtemp(prefix="cdr-detector-demo-"))
    os.environ[AUTH_ID_ENV], os.environ[AUTH_TOKEN_ENV] = options.auth_id, options.auth_token
    settings = load_settings(None, {
        "api.url": f"http://{host}:{port}/api/v1/partner", "state.path": workdir / "state.sqlite",
        "poll.interval_s": 1.0, "poll.feed_time_per_poll_s": speed, "poll.start_back_s": 3600,
        "metrics.listen": "127.0.0.1:0", "rules.dir": RULES_DIR,
    })  # fmt: skip
    with (workdir / "detector.log").open("w") as logfile:
        logs.configure("json", "info", stream=logfile)
        board = Board()
        metrics = Metrics()
        service = build_service(settings, metrics, logs.get("service"))
        service.observer = board.observe

        http = HttpServer(metrics, service.console.status, service.ready)
        mhost, mport = http.start("127.0.0.1", 0)
        worker = threading.Thread(target=service.run, daemon=True)
        worker.start()
        deadline = time.monotonic() + stop_after if stop_after > 0 else float("inf")
        url = f"http://{mhost}:{mport}/metrics"
        truth = sorted(traffic.labels, key=lambda label: label.start)
        try:
            with Live(_view(board, sim, truth, url), refresh_per_second=2, screen=False) as live:
                while worker.is_alive() and time.monotonic() < deadline:
                    time.sleep(0.5)
                    live.update(_view(board, sim, truth, url))
        except KeyboardInterrupt:
            pass
        finally:
            service.stopping.set()
            worker.join(timeout=30)
            http.stop()
            sim.stop()
    print(f"demo state and logs kept in {workdir}")
