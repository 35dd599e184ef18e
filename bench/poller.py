"""`python -m bench.poller`: API requests per new CDR of the tailing poller, next to the floor.

Drives the real `Poller` and `CdrApi` against the real `SimulatorServer` on 127.0.0.1, with a
manual clock so simulated time only moves when the benchmark says so (fast, deterministic).
Traffic is written directly as rows (Poisson arrivals; 45 % unanswered; lognormal talk time;
ring and publishing lag as drawn below; 0.1 % of answered calls last 3 to 12 hours, the long
tail the 3 h–24 h tier exists for) at 1, 10, 100 and 1,000 CDR/s. The floor is one full page per
100 new CDRs (0.01 requests per CDR). Each tier's requests per hour are printed too: the long
tiers (calls of 45 minutes and more, and those beyond the 24 h horizon) are read at a slow
cadence, so they cost a few requests an hour whatever the rate.

Steady state, per tier. Tiers are disjoint filters, so a tier's reads depend only on its own
rows: each tier is run alone on the rows of its talk range (the head tiers, under 90 s, run
together as one group: on a quiet feed they are read through one merged list, see
`detector.source.head`), and the figure of a rate is the
sum of the tiers' request rates over the sum of their CDR rates (so each tier weighs by its
share of the traffic). Each run polls every 10 s (`--interval S` for another poll interval,
with the head's request budget the daemon would give it: half of what the client's default
5 requests/s allows per interval, 25 at 10 s); its warm-up (two of the tier's longest
cadences, so its cadence estimates settle) is excluded, and it is measured from the end of a
read of the tier to the end of a later one, over at least two of its longest cadences
(and 36,000 CDRs' worth of time at the rate, so slow rates are not measured over a few reads):
whole reads only, so every request and every new CDR in the window belong to each other.
Requests are counted at the transport by the tier's filter (page-1 probes of the empty other
tiers belong to those tiers' own runs). Latency is the poll time minus the call's start.

Backlog: the poller starts with one hour of history at 100 CDR/s behind it, at the client's
default 5 requests/s, polling again at once while a poll stops at its page budget (as the
daemon does); the time until a poll reports `complete` is the catch-up time in simulated
seconds (the rate limit's waits advance the manual clock).
"""

from __future__ import annotations

import argparse
import math
import sys
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np

from detector.simulate import SimOptions, SimulatorServer, Traffic
from detector.simulate.scenario import Chaos
from detector.source.client import CdrApi
from detector.source.head import Head
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.source.tiers import Tier

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
INTERVAL_S = 10.0
"""The default poll interval, the daemon's (`--interval` for another)."""
RATE_PER_S = 5.0
"""The client's default rate limit, which sets the head's request budget as in the daemon."""
FLOOR = 0.01
RATES = (1, 10, 100, 1000)
SLICE_S = 600.0
LONG_SHARE = 0.001
"""Answered calls lasting 3–12 h (log-uniform): the long tail."""


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


def traffic(
    rate: float,
    span_s: float,
    seed: int = 7,
    low: int = 0,
    high: int | None = None,
    start: datetime = START,
) -> Traffic:
    """Rows at `rate` CDR/s started over `span_s` s from `start`, in shape A, talk in [low, high].

    Drawn in slices of `SLICE_S` so that a long span at a high rate stays small in memory
    when only one tier's rows are kept.
    """
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    for begin in np.arange(0.0, span_s, SLICE_S):
        width = min(SLICE_S, span_s - begin)
        drawn = _draw(rng, rate, begin, width, start.timestamp())
        keep = (drawn[2] >= low) & (drawn[2] <= (math.inf if high is None else high))
        parts.append(drawn[:, keep])
    if low > 0:  # one short call at the start, so a tier with no rows yet still anchors the poll
        parts.insert(0, np.array([[start.timestamp()], [5.0], [0.0], [3.0]]))
    starts, ring, talk, lag = np.concatenate(parts, axis=1) if parts else np.zeros((4, 0))
    available = starts + ring + talk + lag
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


def _draw(
    rng: np.random.Generator, rate: float, begin: float, width: float, origin: float
) -> np.ndarray:
    """Start, ring, talk and lag of the calls starting in `[begin, begin + width)` seconds
    after `origin` (epoch s)."""
    n = int(rng.poisson(rate * width))
    starts = np.sort(np.floor(rng.uniform(begin, begin + width, n))) + origin
    answered = rng.random(n) < 0.55
    talk = np.where(answered, np.clip(np.round(rng.lognormal(np.log(90), 1.0, n)), 1, 3 * 3600), 0)
    long = answered & (rng.random(n) < LONG_SHARE)
    hours = np.exp(rng.uniform(np.log(3.0), np.log(12.0), n))
    talk = np.where(long, np.round(hours * 3600), talk)
    ring = np.where(
        answered, np.clip(rng.lognormal(np.log(8), 0.4, n), 1, 45), rng.uniform(0, 60, n)
    )
    return np.stack([starts, ring, talk, rng.uniform(2, 8, n)])


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


class Counting(httpx.HTTPTransport):
    """The HTTP transport, counting requests by their `min_duration` filter (the tier)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_filter: Counter[str | None] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Count, then send."""
        self.by_filter[request.url.params.get("min_duration")] += 1
        return super().handle_request(request)


class Harness:
    """A simulator on loopback, a poller on it, and a committed seen set."""

    def __init__(self, rows: Traffic, config: PollerConfig, rate_per_s: float) -> None:
        self.clock = Clock()
        options = SimOptions(speed=1.0, start=START)
        self.server = SimulatorServer(rows, options, clock=self.clock.now)
        host, port = self.server.start()
        self.transport = Counting()
        self.api = CdrApi(
            f"http://{host}:{port}/api/v1/partner",
            options.auth_id,
            options.auth_token,
            transport=self.transport,
            rate_per_s=rate_per_s,
            clock=self.clock.now,
            sleep=self.clock.sleep,
        )
        self.poller = Poller(self.api, normalize, config, self.server.sim_now)
        self.cursor: dict[str, object] | None = None
        self.committed: set[str] = set()

    def seen(self, ids: Collection[str]) -> set[str]:
        """The committed subset of `ids`."""
        return {i for i in ids if i in self.committed}

    def poll(self) -> tuple[int, list[tuple[str, datetime]], bool]:
        """One poll and commit: (requests, keys and start times of the new rows, complete)."""
        result = self.poller.poll(self.cursor, self.seen)
        self.committed.update(key for key, _ in result.new_ids)
        self.cursor = result.cursor
        return result.requests, result.new_ids, result.complete

    def close(self) -> None:
        """Stop the server and the client."""
        self.api.close()
        self.server.stop()


@dataclass
class Figure:
    """One tier's (or the head group's) steady state: requests and new CDRs over whole reads,
    and their latency."""

    tiers: tuple[Tier, ...]
    requests: int = 0
    new: int = 0
    seconds: float = 0.0
    reads: int = 0
    latency: list[float] = field(default_factory=list)
    """Seconds from each new row's start to the end of the poll that returned it."""
    visible: list[float] = field(default_factory=list)
    """Seconds from each new row's visibility in the API to the end of that poll."""

    def per_s(self) -> tuple[float, float]:
        """Requests and new CDRs per second."""
        return self.requests / self.seconds, self.new / self.seconds


def steady(rate: float, tiers: tuple[Tier, ...], config: PollerConfig) -> Figure:
    """Tiers (one, or the head group) alone on their own rows at `rate` CDR/s (of all tiers),
    in steady state, polled every `config.interval_s`."""
    low, high = tiers[0], tiers[-1]
    interval = config.interval_s
    longest = max(*(t.every_s for t in tiers), interval)
    pre, warm = min(high.delay_s, 3600.0), 2 * longest
    end = pre + warm + max(2 * longest, 36_000 / rate) + longest
    rows = traffic(rate, end, seed=7 + low.low, low=low.low, high=high.high)
    shown = {str(r["call_uuid"]): at for r, at in zip(rows.rows, rows.available, strict=True)}
    harness = Harness(rows, config, rate_per_s=1e6)
    harness.clock.t = pre
    figure, keys = Figure(tiers), [str(t.low) for t in tiers]
    count = lambda: sum(harness.transport.by_filter[k] for k in keys)  # noqa: E731
    try:
        harness.poll()
        read_at: float | None = None
        while harness.clock.t < end:
            harness.clock.t += interval
            before = count()
            _, found, _ = harness.poll()
            requests = count() - before
            if requests == 0 or harness.clock.t <= pre + warm:
                continue
            if read_at is not None:
                now = START.timestamp() + harness.clock.t
                figure.requests, figure.new = figure.requests + requests, figure.new + len(found)
                figure.latency += [now - at.timestamp() for _, at in found]
                figure.visible += [now - shown[k] for k, _ in found if k in shown]
                figure.reads += 1
                figure.seconds = harness.clock.t - read_at
            else:
                read_at = harness.clock.t
    finally:
        harness.close()
    return figure


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
            r, found, complete = harness.poll()
            requests, new = requests + r, new + len(found)
            if complete:
                break
    finally:
        harness.close()
    return harness.clock.t - began, requests, new


def report(rate: float, config: PollerConfig) -> float:
    """Print one rate's per-tier figures and their weighted total; return it (x floor)."""
    figures = []
    interval = config.interval_s
    head = Head.of(config.tiers(), config.head_s, config.per_page, interval, 1).tiers
    groups = [head, *((t,) for t in config.tiers() if t not in head)]
    for group in groups:
        figure = steady(rate, group, config)
        figures.append(figure)
        requests_s, new_s = figure.per_s() if figure.seconds else (0.0, 0.0)
        times = np.array(figure.latency or [math.nan])
        shown = np.array(figure.visible or [math.nan])
        print(
            f"{rate:>7} {_name(group):<12}"
            f"{figure.new:>10,}{figure.requests:>9,}"
            f"{figure.reads:>6}{figure.seconds / max(figure.reads, 1):>8.0f}s"
            f"{100 * requests_s / new_s if new_s else math.inf:>8.2f}"
            f"{np.median(times):>8.0f}s{times.max():>7.0f}s"
            f"{3600 * requests_s:>8.1f}{np.median(shown):>9.1f}s{np.percentile(shown, 95):>9.1f}s",
            flush=True,
        )
    requests_s = sum(f.per_s()[0] for f in figures if f.seconds)
    new_s = sum(f.per_s()[1] for f in figures if f.seconds)
    total = requests_s / new_s / FLOOR
    limit = 1.5 * max(FLOOR, 1 / (rate * interval)) / FLOOR
    print(f"{rate:>7} all  {new_s:>10.1f} CDR/s  {requests_s:>7.3f} req/s   x floor {total:.2f}"
          f" (limit {limit:.2f}: 1.5 x max(1 per 100 CDRs, 1 per poll interval))")  # fmt: skip
    return total


def _name(group: tuple[Tier, ...]) -> str:
    """A tier's name, or the head group's range."""
    if len(group) == 1:
        return group[0].name
    return f"{group[0].low}-{group[-1].high} head"


def add_interval(parser: argparse.ArgumentParser) -> None:
    """The benches' `--interval S` option: the poll interval in seconds (default 10), > 0."""

    def seconds(text: str) -> float:
        value = float(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parser.add_argument("--interval", type=seconds, default=INTERVAL_S, help="poll interval, s")


def main(argv: Sequence[str] | None = None) -> None:
    """Print the figures: `python -m bench.poller [--interval S] [1|10|100|1000|backlog ...]`
    (default: all, polled every 10 s)."""
    parser = argparse.ArgumentParser(prog="python -m bench.poller")
    add_interval(parser)
    parser.add_argument("picked", nargs="*", help="rates (CDR/s) and/or backlog")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    picked = args.picked or [*map(str, RATES), "backlog"]
    config = PollerConfig(
        max_pages_per_cycle=10_000,
        interval_s=args.interval,
        latency_budget=0.5 * RATE_PER_S * args.interval,
    )
    print(f"steady state per tier, polled every {args.interval:g} s (probes and resumes included),"
          f" per_page 100")  # fmt: skip
    print(f"{'CDR/s':>7} {'tier talk s':<12}{'new CDRs':>10}{'requests':>9}{'reads':>6}"
          f"{'cadence':>9}{'x floor':>8}{'p50 lat':>9}{'max lat':>8}{'req/h':>8}"
          f"{'p50 vis':>10}{'p95 vis':>10}")  # fmt: skip
    print(
        "(lat: from a call's start; vis: from when the API first listed it; both to the end of"
        " the poll that read it, requests taking no time)"
    )
    totals = {rate: report(rate, config) for rate in RATES if str(rate) in picked}
    if totals:
        print("x floor: " + ", ".join(f"{r} CDR/s {x:.2f}" for r, x in totals.items()))
    if "backlog" in picked:
        seconds, requests, new = backlog(100, 1.0)
        print(
            f"backlog: 1 h at 100 CDR/s ({new:,} CDRs) caught up in {seconds:,.0f} s simulated "
            f"with {requests:,} requests at 5 requests/s (floor {math.ceil(new / 100) / 5:,.0f} s)"
        )


if __name__ == "__main__":
    main()
