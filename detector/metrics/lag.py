"""Poll lag and event-time lag, computed at scrape time from an injected clock."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "cdr_detector_"


class LagCollector(Collector):
    """How far behind the daemon is, in wall-clock seconds, at the moment of the scrape.

    Both gauges exist from start-up: the poll lag counts from start-up until the first
    successful poll, and the event-time lag is NaN until the first CDR is seen (there is no
    newest call to measure from; NaN compares false, so no alert fires on it).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.last_success: float | None = None
        self.newest_event: float | None = None

    def collect(self) -> Iterator[Metric]:
        """Yield the lag gauges."""
        now = self.clock()
        since = self.last_success if self.last_success is not None else self.started
        yield GaugeMetricFamily(
            PREFIX + "poll_lag_seconds",
            "Seconds since the last successful poll (since start-up before the first one).",
            value=max(0.0, now - since),
        )
        newest = self.newest_event
        yield GaugeMetricFamily(
            PREFIX + "event_time_lag_seconds",
            "Wall-clock now minus the start time of the newest CDR seen (NaN before the first).",
            value=math.nan if newest is None else now - newest,
        )
