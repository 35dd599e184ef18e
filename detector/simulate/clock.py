"""Simulated time: the run's start plus elapsed wall (or injected) time times the speed-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta


class SimClock:
    """Maps an injected monotonic clock onto sim time, starting at `start` when created.

    >>> ticks = iter([100.0, 110.0])
    >>> from datetime import UTC
    >>> clock = SimClock(datetime(2026, 3, 2, tzinfo=UTC), 60.0, lambda: next(ticks))
    >>> clock.now().isoformat()
    '2026-03-02T00:10:00+00:00'
    """

    def __init__(self, start: datetime, speed: float, clock: Callable[[], float]) -> None:
        """Anchor sim time `start` at the clock's current reading."""
        self._start = start
        self._speed = speed
        self._clock = clock
        self._t0 = clock()

    def now(self) -> datetime:
        """The current simulated time."""
        return self._start + timedelta(seconds=(self._clock() - self._t0) * self._speed)
