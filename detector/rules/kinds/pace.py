"""How busy a key runs against its baseline, for `flatline`: the pace its silences are judged at.

A silence misses the calls the baseline expected, counted at the pace the key runs at: a
dialer on a day without a campaign, or a shop on a holiday, runs at a few percent of its usual
pace, so its next silence misses few calls; an outage in the middle of a normal day is
measured at the normal pace. `hour_rate` says, for each local hour of a silence, what the
baseline expects of it and at which pace (a first weekend day's hours at the day's own).
"""

from __future__ import annotations

import math
from typing import Protocol

from detector.windows import Seasonal, hour_of_week
from detector.windows.clock import LocalHours
from detector.windows.seasonal import DAY, WEEK, WEEKEND_START

LEVEL_PRIOR = 4.0
"""Calls' worth of belief that a key runs at its baseline, so a handful of calls does not set
its pace."""

DAY_HOURS = 4.0
"""A first weekend day's calls tell its pace at best as well as this many hours of the rule's
dispersion would (see `weekend_pace`)."""


def pace(seen: float, due: float) -> float:
    """How busy a key ran lately against its baseline: calls seen over calls due, both with
    `LEVEL_PRIOR` calls' worth of "as usual", between 0.05 and 1 (never above: the baseline a
    flatline uses is a cautious low guess, so a key often runs above it). A dialer on a day
    without a campaign, or a shop on a holiday, runs at a few percent of its usual pace: the
    calls its next silence misses are counted at that pace, so a quiet day is not an outage
    (an outage that begins in the middle of a normal day is still measured at the normal
    pace).

    >>> pace(0.0, 0.0), round(pace(2.0, 90.0), 2), pace(60.0, 50.0)
    (1.0, 0.06, 1.0)
    """
    return min(max((seen + LEVEL_PRIOR) / (due + LEVEL_PRIOR), 0.05), 1.0)


def weekend_pace(calls: float, before: float, silent: float, size: float) -> float:
    """How busy a first weekend day runs against its weekdays' hour-of-day level, for the
    silence's next calls: `calls` of the day's calls against the `before` calls that level
    expected before the silence (with `LEVEL_PRIOR` calls' worth of a closed day, at most 1,
    never floored: a closed office's few weekend calls say it runs at a few percent), lowered
    by the `silent` calls the level expected since: the posterior mean of a gamma guess of the
    day's pace after a silence, so the calls a silence misses add up to its log-chance under
    that guess, not under a pace taken as known. The day's calls are worth at most
    `DAY_HOURS` hours of the rule's dispersion `size` as evidence (hours swing beyond chance,
    so a few busy hours say less than their calls).

    >>> weekend_pace(0.0, 10.0, 0.0, 10.0), round(weekend_pace(3.0, 96.0, 0.0, 10.0), 2)
    (0.0, 0.03)
    >>> round(weekend_pace(500.0, 400.0, 0.0, 10.0), 2)   # as busy as a weekday, no silence
    1.0
    >>> round(weekend_pace(500.0, 400.0, 100.0, 10.0), 2)  # ... 100 weekday calls later
    0.27
    """
    if calls <= 0.0:
        return 0.0
    pace = min(calls / (before + LEVEL_PRIOR), 1.0)
    evidence = 1.0 / (1.0 / calls + 1.0 / (DAY_HOURS * size))
    return pace / (1.0 + pace * silent / evidence)


KEPT_SIGMAS = 3.0
"""A first weekend day's calls count towards its pace at most as many as its shape expected by
the time each came, plus this many Poisson standard deviations (see `kept`)."""


def kept(counted: float, expected: float) -> float:
    """The day's `counted` calls after one more has come, as a first weekend day's pace counts
    them: at most the `expected` calls its weekdays' shape expected so far, give or take
    `KEPT_SIGMAS` standard deviations of chance. A burst (a robocall run on a closed dialer's
    Saturday night) counts as the few calls the night expected, so a stray call hours later,
    when the shape expects the business day's, does not make the day look open; a day that
    runs at its shape keeps up with it call by call.

    >>> kept(0.0, 1.0), kept(4.0, 1.0), round(kept(49.0, 1.5), 2), kept(100.0, 400.0)
    (1.0, 4.0, 5.17, 101.0)
    """
    return min(counted + 1.0, expected + KEPT_SIGMAS * math.sqrt(expected))


OWN_PACE = -1.0
"""`hour_rate`'s pace for an hour judged at its first weekend day's own pace (`weekend_pace`)."""


class Silence(Protocol):
    """What `hour_rate` reads (and `known`, writes) of a key's traffic (`flatline.Traffic`)."""

    level: float
    day: int
    last: int
    known: bool


def hour_rate(
    baseline: Seasonal, hour: int, traffic: Silence, clock: LocalHours
) -> tuple[float, float, float]:
    """Calls an hour is expected to hold, the weekday level's guess for it when it is a weekend
    hour without weekend history (else 0), and the pace its silent part is judged at; clears
    `traffic.known` when nothing backs the hour.

    A weekend hour whose hour of the week was never seen takes the other weekend day's same
    hour (a first Sunday is judged by the Saturday before it), never a weekday's as such. With
    neither, its hour of the day (weekdays) is only a shape: the day is judged at its own pace
    against it (`weekend_pace`), and only when the silence began that day, after its calls said
    how busy it runs (a silence that reaches into a first Saturday from the Friday expects no
    calls of it: closed or open, nothing has said yet; its Friday part is still judged).
    """
    backing = baseline.history(hour)
    weekend = hour_of_week(hour) >= WEEKEND_START
    if backing == WEEK or (backing == DAY and not weekend):
        return baseline.expected(hour), 0.0, traffic.level
    if weekend and baseline.history(hour - 24) == WEEK and hour_of_week(hour - 24) >= WEEKEND_START:
        return baseline.lent(hour - 24), 0.0, traffic.level
    if backing == DAY:
        guess = baseline.expected(hour)
        if hour // 24 == traffic.day and clock.local_hour(traffic.last) // 24 == traffic.day:
            return 0.0, guess, OWN_PACE
        return 0.0, guess, 0.0
    traffic.known = False
    return 0.0, 0.0, 0.0
