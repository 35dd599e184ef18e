"""When an account calls: hour-of-day shape, weekends, day-to-day swings, campaigns, trend.

An account's call rate in a 15-minute slot is

    daily_calls / 96 × hours[local hour] × (weekend factor on Sat/Sun) × days[local day] × trend

and the calls of each slot are Poisson with that mean times an hour-level gamma factor
(mean 1, shape `burstiness`), so counts are overdispersed the way real traffic is: hours vary
more than Poisson says, and so do days.

Ranges and why (drawn per account in `accounts.py`):
- shape (`SHAPES`): business hours with a lunch dip (09–18), extended hours (08–22), round the
  clock with a night trough (~25 % of the day level), evening campaigns (peak 18–21), and a
  night-shift BPO serving other continents (18:00–04:00 local; only Indian-zone accounts). Each
  account shifts its shape by −1…+1 h and jitters each hour by ~10 %.
- weekend factor 0–1 from the profile; some accounts are closed (factor 0.01–0.05).
- day factor: lognormal with sigma 0.05–0.35 (a quiet Monday, a busy Thursday).
- campaigns (dialers and voicebots, by profile): a campaign runs on a day with probability
  0.55–0.9; on other days volume drops to 3–25 % of the usual level.
- trend: volume drifts by −30 %…+30 % over 14 days (exponential in time), as accounts grow or
  wind down.
- burstiness (gamma shape of the hour factor) 4–40, log-uniform: the hour-level coefficient of
  variation is 0.16–0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SLOT_S = 900.0
"""Rates are piecewise constant over 15-minute slots (half-hour timezone offsets stay exact)."""
TREND_SPAN_S = 14 * 86_400.0

SHAPES: dict[str, tuple[float, ...]] = {
    "business": (0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.25, 0.8, 1.0, 1.0,
                 0.9, 0.55, 0.8, 1.0, 0.95, 0.8, 0.45, 0.2, 0.1, 0.05, 0.03, 0.02),
    "extended": (0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.55, 0.85, 1.0, 1.0,
                 0.9, 0.75, 0.85, 0.95, 0.95, 0.9, 0.85, 0.8, 0.65, 0.45, 0.15, 0.05),
    "round_the_clock": (0.35, 0.28, 0.25, 0.25, 0.27, 0.32, 0.45, 0.6, 0.8, 0.95, 1.0, 1.0,
                        0.95, 0.9, 0.95, 1.0, 1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.55, 0.45),
    "evening": (0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.35, 0.45, 0.45,
                0.4, 0.35, 0.4, 0.45, 0.55, 0.8, 1.2, 1.4, 1.3, 0.9, 0.3, 0.08),
    "night_shift": (0.9, 0.85, 0.8, 0.7, 0.5, 0.3, 0.12, 0.05, 0.03, 0.03, 0.05, 0.05,
                    0.05, 0.05, 0.05, 0.08, 0.15, 0.4, 0.8, 0.95, 1.0, 1.0, 1.0, 0.95),
}  # fmt: skip
"""Relative call rate per local hour on a weekday."""


@dataclass(frozen=True)
class Rhythm:
    """An account's volume over time (see the module docstring for each field's range)."""

    daily_calls: float
    """Expected calls on an ordinary weekday at the world's start."""
    shape: str
    hours: tuple[float, ...]
    """24 relative rates by local hour, mean 1."""
    weekend: float
    days: tuple[float, ...]
    """Factor per local day, index 0 = the local day before the world's first (campaign
    switches and day-to-day swings folded in)."""
    trend: float
    """Log change of volume over 14 days."""
    burstiness: float
    """Gamma shape of the hour-level noise factor."""


def jittered_hours(rng: np.random.Generator, shape: str) -> tuple[float, ...]:
    """The named shape shifted by −1…+1 h, each hour jittered ~10 %, normalised to mean 1.

    >>> hours = jittered_hours(np.random.default_rng(0), "business")
    >>> len(hours), round(sum(hours) / 24, 6)
    (24, 1.0)
    """
    base = np.roll(np.asarray(SHAPES[shape]), int(rng.integers(-1, 2)))
    noisy = base * rng.lognormal(0.0, 0.1, 24)
    return tuple(float(x) for x in noisy / noisy.mean())


@dataclass(frozen=True)
class SlotTable:
    """Local hour, weekday and day index of every 15-minute slot of a world, for one zone."""

    hour: IntArray
    weekend: npt.NDArray[np.bool_]
    day: IntArray


@lru_cache(maxsize=64)
def slot_table(zone: str, start: float, count: int) -> SlotTable:
    """Local calendar facts at the middle of each slot from `start` (epoch s) in `zone`."""
    tz = ZoneInfo(zone)
    first = datetime.fromtimestamp(start, tz).date().toordinal() - 1
    hour = np.empty(count, np.int64)
    weekend = np.empty(count, bool)
    day = np.empty(count, np.int64)
    for k in range(count):
        local = datetime.fromtimestamp(start + (k + 0.5) * SLOT_S, tz)
        hour[k] = local.hour
        weekend[k] = local.weekday() >= 5
        day[k] = local.date().toordinal() - first
    return SlotTable(hour, weekend, day)


def slot_means(rhythm: Rhythm, table: SlotTable, start: float, first: int, stop: int) -> FloatArray:
    """Expected calls in slots `first`…`stop - 1` (before hour-level noise)."""
    hour = table.hour[first:stop]
    level = np.asarray(rhythm.hours)[hour] * (rhythm.daily_calls * SLOT_S / 86_400.0)
    level = level * np.where(table.weekend[first:stop], rhythm.weekend, 1.0)
    days = np.asarray(rhythm.days)
    level = level * days[np.minimum(table.day[first:stop], len(days) - 1)]
    mid = start + (np.arange(first, stop) + 0.5) * SLOT_S
    means: FloatArray = level * np.exp(rhythm.trend * (mid - start) / TREND_SPAN_S)
    return means


def expected_calls(rhythm: Rhythm, table: SlotTable, start: float, t0: float, t1: float) -> float:
    """Expected calls of the account in [t0, t1) (epoch s), partial slots pro rata."""
    count = len(table.hour)
    first = max(0, int((t0 - start) // SLOT_S))
    stop = min(count, int(np.ceil((t1 - start) / SLOT_S)))
    if stop <= first:
        return 0.0
    means = slot_means(rhythm, table, start, first, stop)
    lo = start + np.arange(first, stop) * SLOT_S
    overlap = np.clip(np.minimum(lo + SLOT_S, t1) - np.maximum(lo, t0), 0.0, SLOT_S) / SLOT_S
    return float((means * overlap).sum())
