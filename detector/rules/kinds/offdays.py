"""Off-days for `flatline`: a dialer's day without a campaign is no outage (see `flatline`).

A local day expected to hold at least `OFF_DAY_MIN` calls that held under `OFF_DAY_SHARE` of
them is an off-day; `silent_day` says how much likelier a silence gets because the day it
falls on may be one, from the key's own share of off-days and a prior that grows with its
outbound share.
"""

from __future__ import annotations

import math
from typing import Protocol

from detector.windows.surprise import LN10

OFF_DAY_SHARE = 0.3
OFF_DAY_MIN = 20.0
"""A local day expected to hold at least `OFF_DAY_MIN` calls that held under `OFF_DAY_SHARE`
of them is an off-day (a dialer without a campaign, a closure)."""
OFF_DAY_MEMORY = 0.97
"""Off-days are remembered with this weight per day (about a month)."""
OFF_PRIOR = 2.0
OUTBOUND_POWER = 8.0
ON_PRIOR = 6.0
"""Days' worth of belief in the share of off-days before any day is counted: `OFF_PRIOR` x the
outbound share ^ `OUTBOUND_POWER` off-days against `ON_PRIOR` on-days. An all-outbound key
starts at 1 in 4 (a new dialer's first day without a campaign is no outage: campaigns skip
weekends and whole weekdays), one with a sixth of its calls inbound at 1 in 14, a half-inbound
one at 1 in 770 (judged as before off-days were modelled); each steady day counted makes an
off-day less likely (an all-outbound key after three busy days: 1 in 5.5)."""
OFF_SHARE = 0.15
SHARE_PRIOR = 2.0
"""How busy an off-day's outbound part runs against the baseline (a campaign-less dialer:
3-25 %). A day without a campaign still brings the key's inbound calls (its callers do not
know), so until the key's own off-days say (`SHARE_PRIOR` days' worth of belief) an off-day
is expected at the inbound share plus `OFF_SHARE` of the outbound one: a dialer's at 15 %, a
half-inbound office's at 58 %, whose silent morning is then no more likely an off-day than an
outage (it was judged at a dialer's 15 %, which capped a small office's whole silent morning
below `min_surprise`)."""


class DayHistory(Protocol):
    """What `silent_day` reads, and `close_day` and `release` count, of a key's traffic
    (`flatline.Traffic`)."""

    today: float
    today_due: float
    outbound: float
    days: float
    off_days: float
    off_calls: float
    held_days: float
    held_off: float
    held_calls: float


def close_day(traffic: DayHistory, gap: int, seen: float, due: float) -> None:
    """A local day closed `gap` days after the one before, with `seen` of the `due` calls the
    baseline expected: the counts fade, and a day expected to hold at least `OFF_DAY_MIN` calls
    is held (`held_days`, and `held_off` if under `OFF_DAY_SHARE` of them) until the next call
    (`release`): a silence is no evidence that the key has off-days, and its own days would
    make its next day look like one."""
    if due < OFF_DAY_MIN:
        return
    fade = OFF_DAY_MEMORY**gap
    quiet = seen < OFF_DAY_SHARE * due
    traffic.off_days *= fade
    traffic.off_calls *= fade
    traffic.days *= fade
    traffic.held_off = traffic.held_off * fade + quiet
    traffic.held_calls = traffic.held_calls * fade + quiet * seen / due
    traffic.held_days = traffic.held_days * fade + 1.0


def release(traffic: DayHistory) -> None:
    """A call: the days closed since the one before join the off-day counts."""
    traffic.off_days += traffic.held_off
    traffic.off_calls += traffic.held_calls
    traffic.days += traffic.held_days
    traffic.held_days = traffic.held_off = traffic.held_calls = 0.0


def silent_day(
    traffic: DayHistory, size: float, calls: float, before: float, stretch: float = 1.0
) -> float:
    """How much likelier (``log10``, >= 0) a silence gets because the local day on which it
    misses `traffic.today` calls (at the key's pace; `traffic.today_due` before it) may be an
    off-day; `calls` of the `before` calls the baseline expected that day came before the
    silence.

    An off-day runs at the key's off-day share of the baseline (its inbound calls and a few of
    its outbound ones, until its own off-days say, see `OFF_SHARE`), so it misses that share of
    the calls counted at the key's pace. A first weekend day is judged at its own pace against
    its weekdays' level, measured with its uncertainty (`weekend_pace`), so there it misses
    that share of the weekday level's calls, never more than the day's pace counts: a
    voicebot's first Saturday at a tenth of its weekdays is not discounted again as an
    off-day. (The same on every day, whose pace is a cautious running level, added 8 false
    alerts on the tuning worlds and found one silence more.) On- and off-days are negative
    binomials of shape `size`. The chance of an
    off-day is the key's own share of off-days with its prior (see `ON_PRIOR`), updated by
    Bayes on the day's calls so far. With an on-day's chance of the silence `p_on` and an
    off-day's `p_off`, the day's chance is ``(1 - w) p_on + w p_off`` where ``w`` is the chance
    of an off-day: the silence is ``1 - w + w p_off / p_on`` times likelier than if the day
    were an on-day.

    >>> from types import SimpleNamespace
    >>> def History(**seen): return SimpleNamespace(**{"today": 22.0, "today_due": 22.0, **seen})
    >>> dialer = History(outbound=1.0, days=5.0, off_days=2.0, off_calls=0.2)
    >>> round(silent_day(dialer, 10.0, 0.0, 0.0), 2)      # a day that starts silent
    3.48
    >>> round(silent_day(dialer, 10.0, 300.0, 300.0), 2)  # silent after a busy morning
    0.0
    >>> young = History(outbound=1.0, days=3.0, off_days=0.0, off_calls=0.0)
    >>> round(silent_day(young, 10.0, 0.0, 0.0), 2)  # no off-day in its first three days
    3.07
    >>> centre = History(outbound=0.85, days=5.0, off_days=0.0, off_calls=0.0)
    >>> round(silent_day(centre, 10.0, 0.0, 0.0), 2)  # no off-day yet, 15 % inbound
    1.66
    >>> saturday = History(today=35.0, today_due=390.0, outbound=1.0, days=5.0, off_days=0.0,
    ...                    off_calls=0.0)
    >>> silent_day(saturday, 10.0, 1325.0, 15000.0)  # at 9 % of its weekdays: no off-day below
    0.0
    >>> desk = History(outbound=0.5, days=5.0, off_days=0.0, off_calls=0.0)
    >>> round(silent_day(desk, 10.0, 0.0, 0.0), 2)  # its inbound half comes anyway
    0.01
    """
    prior = OFF_PRIOR * traffic.outbound**OUTBOUND_POWER
    off = (traffic.off_days + prior) / (traffic.days + prior + ON_PRIOR)
    kept = 1.0 - traffic.outbound * (1.0 - OFF_SHARE)  # inbound calls come anyway
    share = (traffic.off_calls + SHARE_PRIOR * kept) / (traffic.off_days + SHARE_PRIOR)
    if before > 0.0 and off > 0.0:  # Bayes on the day's calls so far
        low = share * before
        odds = calls * math.log(share * (before + size) / (low + size))
        odds += size * math.log((before + size) / (low + size))
        off = 1.0 / (1.0 + (1.0 - off) / off * math.exp(-min(max(odds, -50.0), 50.0)))
    if off < 1e-12:
        return 0.0
    missed = traffic.today
    usual = traffic.today_due if traffic.today_due > 0.0 else missed
    off_missed = min(share * usual, missed)
    ratio = stretch * size * (math.log1p(missed / size) - math.log1p(off_missed / size))
    # log10(1 - off + off * e^ratio), without overflow
    return (ratio + math.log(off) + math.log1p((1.0 - off) / off * math.exp(-ratio))) / LN10
