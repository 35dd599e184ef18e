"""A key's usual amount per call (talk time, spend) and its spread, learned per completed hour.

The mean and mean square of the amount over a key's calls say what one call usually brings
and how irregular calls are; `spike` uses them to judge a sum in equivalent calls and, with
``per: call``, the mean per call itself. They are learned hour by hour: an hour's calls join
the running moments when the hour is over, unless the owner `taint`ed it (judged it
suspicious), so a burst of hour-long calls does not teach the key that calls last an hour. The
key's first hour is partial (at the start of observation the long calls in progress have not
ended yet) and is not learned. Memory is `MEMORY` calls.

>>> m = Moments()
>>> for hour, x in [(0, 500.0), (1, 60.0), (1, 120.0), (2, 90.0), (3, 3600.0)]:
...     m.add(hour, x)
>>> m.calls, m.mean                 # hour 0 skipped, hours 1 and 2 learned, hour 3 still open
(3.0, 90.0)
>>> m.taint(); m.add(4, 60.0); m.calls   # hour 3 was tainted: not learned
3.0
"""

from __future__ import annotations

from dataclasses import dataclass

MEMORY = 2000.0
"""Calls of memory: older hours weigh less once the moments hold this many."""


@dataclass(slots=True)
class Moments:
    """Learned moments of an amount per call, plus the hour being collected."""

    calls: float = 0.0
    mean: float = 0.0
    square: float = 0.0
    """Mean of the squared amount."""
    hour: int = -1
    open_calls: float = 0.0
    open_sum: float = 0.0
    open_square: float = 0.0
    tainted: bool = False
    started: bool = False
    """The key's first (partial) hour has passed."""

    def add(self, hour: int, x: float) -> None:
        """Count one call's amount in `hour` (a past hour is ignored)."""
        if hour > self.hour:
            self._roll(hour)
        if hour == self.hour:
            self.open_calls += 1.0
            self.open_sum += x
            self.open_square += x * x

    def taint(self) -> None:
        """Leave the hour being collected out of the moments (it was suspicious)."""
        self.tainted = True

    def _roll(self, hour: int) -> None:
        if self.started and not self.tainted and self.open_calls > 0.0:
            kept = min(self.calls, MEMORY - min(self.open_calls, MEMORY / 2))
            total = kept + self.open_calls
            self.mean = (kept * self.mean + self.open_sum) / total
            self.square = (kept * self.square + self.open_square) / total
            self.calls = min(total, MEMORY)
        self.started = self.started or self.hour >= 0
        self.hour = hour
        self.open_calls = self.open_sum = self.open_square = 0.0
        self.tainted = False
