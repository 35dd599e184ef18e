"""What every incident kind works with: its window, its effect on traffic, arrival helpers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.simulate.calls import BoolArray, CallSet, FloatArray
from detector.simulate.profile import Account


@dataclass(frozen=True)
class Window:
    """Where an incident happens: account index and its account, [start, end) epoch s,
    intensity, and for kinds with one very long call (irsf) how long it lasts (s)."""

    index: int
    account: Account
    start: float
    end: float
    intensity: float
    longest: float | None = None

    @property
    def span_s(self) -> float:
        """Length of the window in seconds."""
        return self.end - self.start

    def covers(self, calls: CallSet) -> BoolArray:
        """Which of `calls` belong to this account and start inside the window."""
        inside = (calls.start >= self.start) & (calls.start < self.end)
        mask: BoolArray = (calls.account == self.index) & inside
        return mask


@dataclass(frozen=True)
class Effect:
    """An incident's change to traffic: background calls to drop and calls to add."""

    drop: BoolArray | None
    add: CallSet


def arrivals(rng: np.random.Generator, window: Window, per_minute: float) -> FloatArray:
    """Poisson arrival times (whole epoch seconds, sorted) at `per_minute` × intensity."""
    expected = per_minute * window.intensity * window.span_s / 60.0
    count = int(rng.poisson(expected))
    return np.sort(np.floor(window.start + rng.random(count) * window.span_s))


def account_column(window: Window, count: int) -> np.ndarray:
    """The account index repeated `count` times."""
    return np.full(count, window.index, dtype=np.int64)


def pick(rng: np.random.Generator, choices: tuple[str, ...] | list[str], count: int) -> list[str]:
    """`count` random picks (with replacement) from `choices`."""
    idx = rng.integers(0, len(choices), size=count)
    return [choices[int(i)] for i in idx]
