"""Replay a file of wire rows through the live detection path and write the alerts it raises.

The rows go through the same `normalize` and the same `Detector` (rules, model, alert policy)
as the daemon, in batches like poll cycles, so a backtest of what the poller saw fires what
live fired. Alerts are written one JSON object per line, exactly the webhook payload.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from detector.domain import CDR, Rejected
from detector.pipeline import Detector, Step
from detector.rules.engine import TICK_S
from detector.source.files import read_cdrs

BATCH = 1000
"""Most CDRs in one batch (a busy poll cycle)."""
CYCLE_S = TICK_S
"""Most event time (s, by start) one batch spans: a poll cycle covers seconds, and the daemon
lets time pass after each, so a replay that waited for 1,000 CDRs would see time pass once in
hours on a quiet partner, and judge a silence (flatline) only after it had ended."""


@dataclass(slots=True)
class BacktestResult:
    """What a replay saw and raised."""

    cdrs: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    findings: Counter[str] = field(default_factory=Counter)
    accounts: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    elapsed_s: float = 0.0

    @property
    def span(self) -> timedelta:
        """Event time covered by the CDRs."""
        if self.first is None or self.last is None:
            return timedelta(0)
        return self.last - self.first

    def throughput(self) -> float:
        """CDRs per second of wall time."""
        return self.cdrs / self.elapsed_s if self.elapsed_s > 0 else 0.0


def cycles(cdrs: Iterable[CDR]) -> Iterator[list[CDR]]:
    """CDRs in batches like poll cycles: at most `BATCH`, spanning at most `CYCLE_S` of event
    time from the batch's first start.

    >>> from detector.rules.testing import make_cdr, DEFAULT_START
    >>> at = [DEFAULT_START + timedelta(seconds=s) for s in (0, 30, 61, 200)]
    >>> [len(b) for b in cycles(make_cdr(t, f"c{i}", {}) for i, t in enumerate(at))]
    [2, 1, 1]
    """
    batch: list[CDR] = []
    until = datetime.max
    for cdr in cdrs:
        if len(batch) >= BATCH or (batch and cdr.start > until):
            yield batch
            batch = []
        if not batch:
            until = cdr.start + timedelta(seconds=CYCLE_S)
        batch.append(cdr)
    if batch:
        yield batch


def pass_time(detector: Detector, until: datetime) -> Iterator[Step]:
    """Let event time pass in `CYCLE_S` steps from the newest CDR seen towards `until` (the
    next CDR's start): live, polls keep coming through a quiet spell of the feed and time
    passes with them, so a silence is judged while it lasts, not after the call that ends it."""
    if detector.newest is None:
        return
    step = timedelta(seconds=CYCLE_S)
    at = detector.newest + step
    while at < until:
        yield detector.advance(at - detector.allowed_lateness)
        at += step


def _accepted(items: Iterable[CDR | Rejected], result: BacktestResult) -> Iterator[CDR]:
    """The CDRs of `items`; rejected rows are counted by reason."""
    for item in items:
        if isinstance(item, Rejected):
            result.rejected[item.reason] += 1
        else:
            yield item


def _note(result: BacktestResult, batch: list[CDR]) -> None:
    result.cdrs += len(batch)
    for cdr in batch:
        result.accounts.add(cdr.account)
        if result.first is None or cdr.start < result.first:
            result.first = cdr.start
        if result.last is None or cdr.start > result.last:
            result.last = cdr.start


def run_backtest(
    path: Path,
    detector: Detector,
    out: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
    settle: timedelta = timedelta(0),
) -> BacktestResult:
    """Feed `path` through `detector`; write alert JSON lines to `out`; return the tallies.

    At the end, event time advances to the newest CDR plus `settle`. The default (0) stops
    where the data stops, as live would; a positive `settle` lets quiet alerts resolve, but
    also makes every account look silent for that long (flatline rules will notice).
    """
    return replay(read_cdrs(path), detector, out, progress, settle)


def replay(
    items: Iterable[CDR | Rejected],
    detector: Detector,
    out: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
    settle: timedelta = timedelta(0),
    watch: Watcher | None = None,
) -> BacktestResult:
    """`run_backtest` over CDRs from anywhere (a file, the API); `watch` sees each batch and
    the final watermark (what `rules try` records besides the alerts)."""
    result = BacktestResult()
    started = time.perf_counter()
    for batch in cycles(_accepted(items, result)):
        for quiet in pass_time(detector, batch[0].start):
            _collect(result, quiet.alerts, quiet.findings, out)
        step = detector.process(batch)
        _note(result, batch)
        _collect(result, step.alerts, step.findings, out)
        if watch is not None and detector.newest is not None:
            watch.batch(batch, detector.newest - detector.allowed_lateness)
        if progress:
            progress(len(batch))
    if detector.newest is not None:
        step = detector.advance(detector.newest + settle)
        _collect(result, step.alerts, step.findings, out)
        if watch is not None:
            watch.advance(detector.newest + settle)
    result.elapsed_s = time.perf_counter() - started
    return result


class Watcher(Protocol):
    """Sees what a replay feeds the detector: each batch with the watermark after it, and the
    watermark the replay ends at."""

    def batch(self, cdrs: list[CDR], watermark: datetime) -> None:
        """One batch was processed; event time is now `watermark`."""
        ...

    def advance(self, watermark: datetime) -> None:
        """The replay ends with event time at `watermark`."""
        ...


def _collect(
    result: BacktestResult, alerts: list[Any], findings: list[Any], out: IO[str] | None
) -> None:
    for f in findings:
        result.findings[f.source] += 1
    for alert in alerts:
        body = alert.to_json()
        result.alerts.append(body)
        if out is not None:
            out.write(json.dumps(body) + "\n")
