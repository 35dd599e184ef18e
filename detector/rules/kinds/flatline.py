"""`flatline`: a key that normally has traffic has had none for longer than chance allows.

Matching CDRs feed an hour-of-week baseline (`Seasonal`) and mark the last call. On each tick
(the watermark moving on) the calls the baseline expected since the last call are added up
(`missed`), hour by hour of the account's local time, at the key's recent *pace* (`pace`: calls
seen over calls expected in the last hours before the silence), so the value is "about N calls
expected since the last one" and a day on which a dialer runs no campaign, or an office is half
closed, is judged at that day's pace. A silence emits when

- it is at least `window` long, and the thresholds are met (`missed` is the value); and
- it is surprising: `silence_surprise` of `missed` with negative binomial shape `dispersion`
  (ordinary hours swing well beyond chance) is at least `min_surprise`. A busy call centre is
  judged within minutes, a 10-call-a-day office over most of a day, at the same false-alert
  rate. A key that has had *off-days* lately (whole days far below its baseline: a dialer
  that runs campaigns on some days only) is judged with shape `IRREGULAR_SIZE`, because its
  silences are ordinary until they are very long.

Nothing is judged until the baseline holds `warmup` hours of history, nor over an hour whose
hour of the day the baseline has never seen. Within the first week, weekday hours of the week
not seen yet are expected at their hour-of-day level (the lower of its running level and its
latest day, see `Seasonal`), so a day of history suffices; weekdays say nothing about a
weekend (many offices are closed, some dialers run only then), so a first Sunday is judged by
the Saturday before it, and a silence that reaches into a first Saturday is not judged at all
(a guess would turn every closed account's first weekend into a false alarm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import KindContext, Reading, narrow
from detector.rules.spec import AnyRule, FlatlineRule
from detector.rules.template import human_duration
from detector.windows import Seasonal, hour_of_week
from detector.windows.buckets import NEVER
from detector.windows.clock import Clock
from detector.windows.seasonal import DAY, WEEK, WEEKEND_START
from detector.windows.surprise import silence_surprise

QUARTER = 900
"""Every UTC offset is a whole number of quarter hours, so a UTC quarter lies in one local hour."""

MAX_STEP_S = 7 * 86400
"""Longest stretch a single tick adds up (a feed gap longer than this is not a flatline)."""

LEVEL_S = 3 * 3600.0
"""Memory of how busy the key runs today against its baseline (e-folding time, s)."""
LEVEL_PRIOR = 4.0
"""Calls' worth of belief that a key runs at its baseline, so a handful of calls does not set
its pace."""

OFF_DAY_SHARE = 0.3
OFF_DAY_MIN = 20.0
"""A local day expected to hold at least `OFF_DAY_MIN` calls that held under `OFF_DAY_SHARE`
of them is an off-day (a dialer without a campaign, a closure)."""
OFF_DAY_MEMORY = 0.97
"""Off-days are remembered with this weight per day (about a month)."""
IRREGULAR_SIZE = 2.0
"""The negative binomial shape of a key that has had off-days: its silences must be far
longer to be believed, since a whole quiet day is among its ordinary days."""


@dataclass(slots=True)
class Traffic:
    """The key's hourly baseline, its last call and the silence since."""

    baseline: Seasonal = field(default_factory=Seasonal)
    last: int = NEVER
    """Start of the newest matching CDR (epoch s)."""
    ticked: int = NEVER
    """Up to when the expected calls are added up (ticks run on the watermark)."""
    missed: float = 0.0
    """Calls the baseline expected since `last` (at the key's pace), up to `ticked`."""
    known: bool = True
    """Every hour since `last` had a baseline (else the silence is not judged)."""
    seen: float = 0.0
    """Calls of the last hours (decayed with `LEVEL_S`)."""
    due: float = 0.0
    """Calls the baseline expected over the same hours (decayed alike)."""
    level: float = 1.0
    """How busy the key ran before the current silence, against its baseline (see `pace`)."""
    day: int = -1
    """The local day being counted (days since the epoch)."""
    day_seen: float = 0.0
    day_due: float = 0.0
    off_days: float = 0.0
    """Recent days that ran far below the baseline (a dialer without a campaign), decayed."""


class Flatline:
    """Reads only on ticks: value = calls expected since the last one, when surprising."""

    name: ClassVar[str] = "flatline"
    watches_all = False
    ticks = True
    forgets = False
    baseline = True

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        spec = narrow(rule, FlatlineRule)
        self.least_s = int(spec.window)
        self.warmup_hours = int(spec.warmup // 3600)
        self.min_surprise = spec.min_surprise
        self.dispersion = spec.dispersion

    def new_key(self) -> Traffic:
        """No history yet."""
        return Traffic()

    def observe(self, facts: Facts, matched: bool, data: Any) -> Reading | None:
        """Learn the CDR; a call ends the silence (a flatline is never found on a CDR)."""
        if not matched:
            return None
        traffic: Traffic = data
        traffic.baseline.add(facts.local_hour, 1.0)
        if facts.t > traffic.last:
            _end_silence(traffic, facts.t)
        return None

    def tick(self, data: Any, now: int, clock: Clock) -> Reading | None:
        """Add up what was expected since the last tick (for the pace, and for the silence
        when the key is silent); judge the silence."""
        traffic: Traffic = data
        if traffic.last == NEVER or now <= traffic.ticked:
            return None
        if traffic.ticked == NEVER:
            traffic.ticked = traffic.last  # the first tick counts from the last call
        start = max(traffic.ticked, now - MAX_STEP_S)
        due = self._expected(traffic, start, now, clock)
        fade = math.exp(-(now - start) / LEVEL_S)
        traffic.seen *= fade
        traffic.due = traffic.due * fade + due
        if traffic.last <= start:
            traffic.missed += due * traffic.level
        elif traffic.last < now:
            traffic.missed += self._expected(traffic, traffic.last, now, clock) * traffic.level
        traffic.ticked = now
        _count_day(traffic, clock.local_hour(now) // 24, due)
        silence = now - traffic.last
        if traffic.baseline.hours_seen < self.warmup_hours or not traffic.known:
            return None
        if silence < self.least_s:
            return None
        missed = traffic.missed
        size = self.dispersion if traffic.off_days < 0.5 else IRREGULAR_SIZE
        if silence_surprise(missed, 0.0, size) < self.min_surprise:
            return Reading(0.0, missed, "", None, missed)
        note = f"no calls for {human_duration(silence - silence % 60)}"
        return Reading(missed, missed, note, None, missed)

    def _expected(self, traffic: Traffic, start: int, now: int, clock: Clock) -> float:
        """Calls the baseline expects over [start, now), by local hour (quarters pro rata);
        clears `known` when an hour of the day was never seen."""
        baseline = traffic.baseline
        total, t = 0.0, start
        while t < now:
            step = min(QUARTER - t % QUARTER, now - t)  # never straddles a local hour
            hour = clock.local_hour(t)
            total += _rate(baseline, hour, traffic) * step / 3600.0
            t += step
        return total

    def expired(self, data: Any, now: int) -> bool:
        """Never: the baseline is the point (the account's TTL evicts it)."""
        return False


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


def _count_day(traffic: Traffic, day: int, due: float) -> None:
    """Add a tick's expected calls to the local day; when a day ends, remember it if it ran
    far below its baseline (an off-day)."""
    if day > traffic.day:
        if traffic.day >= 0 and traffic.day_due >= OFF_DAY_MIN:
            quiet = traffic.day_seen < OFF_DAY_SHARE * traffic.day_due
            traffic.off_days = traffic.off_days * OFF_DAY_MEMORY ** (day - traffic.day) + quiet
        traffic.day, traffic.day_seen, traffic.day_due = day, 0.0, 0.0
    traffic.day_due += due


def _end_silence(traffic: Traffic, t: int) -> None:
    """A call at `t`: fold it into the pace and restart the silence."""
    traffic.day_seen += 1.0
    traffic.seen += 1.0
    traffic.level = pace(traffic.seen, traffic.due)
    traffic.last = t
    traffic.missed = 0.0
    traffic.known = True


def _rate(baseline: Seasonal, hour: int, traffic: Traffic) -> float:
    """Calls an hour is expected to hold; clears `traffic.known` when nothing backs it.

    A weekend hour whose hour of the week was never seen takes the other weekend day's same
    hour (a first Sunday is judged by the Saturday before it), never a weekday's.
    """
    backing = baseline.history(hour)
    weekend = hour_of_week(hour) >= WEEKEND_START
    if backing == WEEK or (backing == DAY and not weekend):
        return baseline.expected(hour)
    if weekend and baseline.history(hour - 24) == WEEK and hour_of_week(hour - 24) >= WEEKEND_START:
        return baseline.expected(hour - 24)
    traffic.known = False
    return 0.0
