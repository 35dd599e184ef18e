"""`flatline`: a key that normally has traffic has had none for longer than it ever does.

Matching CDRs feed an hour-of-week baseline (`Seasonal`) and mark the last call. On each tick
(the watermark moving on) the calls the baseline expected since the last call are added up
(`missed`), hour by hour of the account's local time, so the value is "about N calls expected
since the last one". A silence emits when all of these hold:

- it is at least `window` long, and the thresholds are met (`missed` is the value);
- it is surprising: `silence_surprise` of `missed` with negative binomial shape `dispersion`
  (bursty traffic, such as a dialer's campaigns, has long ordinary gaps) is at least
  `min_surprise` — so a 10-call-a-day office is judged over a day, a busy call centre within
  minutes, with the same false-alert rate;
- it is at least `margin` times the longest ordinary silence the key has shown (in expected
  calls, forgotten slowly): an account whose campaigns pause for an hour every day is judged
  against that, not against its average rate.

Nothing is judged until the baseline holds `warmup` hours of history, nor over an hour whose
hour of the day the baseline has never seen. Within the first week, hours of the week not seen
yet are expected at their hour-of-day level (the lower of its running level and its latest day,
see `Seasonal`), so a couple of days of history suffice; a weekend hour not seen yet is expected
at `UNSEEN_WEEKEND` of that level (the first weekend after weekdays is usually much quieter:
overestimating it turns an empty weekend into a false alarm, underestimating only delays a real
outage until the weekend is learned).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import KindContext, Reading, narrow
from detector.rules.spec import AnyRule, FlatlineRule
from detector.rules.template import human_duration
from detector.windows import Seasonal, hour_of_week
from detector.windows.buckets import NEVER
from detector.windows.clock import Clock
from detector.windows.seasonal import DAY, NONE, WEEKEND_START
from detector.windows.surprise import silence_surprise

QUARTER = 900
"""Every UTC offset is a whole number of quarter hours, so a UTC quarter lies in one local hour."""

UNSEEN_WEEKEND = 0.5
"""Share of its hour-of-day level expected of a weekend hour whose hour of the week is unseen."""

FORGET_PER_DAY = 0.9
"""The longest ordinary silence shrinks by this factor per day (an old gap fades)."""

MAX_STEP_S = 7 * 86400
"""Longest stretch a single tick adds up (a feed gap longer than this is not a flatline)."""


@dataclass(slots=True)
class Traffic:
    """The key's hourly baseline, its last call and the silence since."""

    baseline: Seasonal = field(default_factory=Seasonal)
    last: int = NEVER
    """Start of the newest matching CDR (epoch s)."""
    ticked: int = NEVER
    """Up to when `missed` is added up."""
    missed: float = 0.0
    """Calls the baseline expected since `last`, up to `ticked`."""
    known: bool = True
    """Every hour since `last` had a baseline (else the silence is not judged)."""
    longest: float = 0.0
    """The largest `missed` an ordinary (unreported) silence reached, forgotten slowly."""
    learned: int = NEVER
    """When `longest` was last updated."""
    hot: bool = False
    """The current silence was reported: it is not learned as ordinary."""


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
        self.margin = spec.margin

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
            self._end_silence(traffic, facts.t)
        return None

    def _end_silence(self, traffic: Traffic, t: int) -> None:
        """A call at `t`: learn the silence that ends here (unless reported) and restart."""
        if not traffic.hot and traffic.known and traffic.last != NEVER:
            days = max(t - traffic.learned, 0) / 86400 if traffic.learned != NEVER else 0.0
            faded = traffic.longest * FORGET_PER_DAY**days
            traffic.longest = max(faded, traffic.missed)
            traffic.learned = t
        traffic.last = traffic.ticked = t
        traffic.missed = 0.0
        traffic.known = True
        traffic.hot = False

    def tick(self, data: Any, now: int, clock: Clock) -> Reading | None:
        """Add up what was expected since the last tick; judge the silence."""
        traffic: Traffic = data
        if traffic.last == NEVER or now <= traffic.ticked:
            return None
        start = max(traffic.ticked, now - MAX_STEP_S)
        traffic.missed += self._expected(traffic, start, now, clock)
        traffic.ticked = now
        silence = now - traffic.last
        if traffic.baseline.hours_seen < self.warmup_hours or not traffic.known:
            return None
        if silence < self.least_s or traffic.missed < self.margin * traffic.longest:
            return None
        missed = traffic.missed
        if silence_surprise(missed, 0.0, self.dispersion) < self.min_surprise:
            return Reading(0.0, missed, "", None, missed)
        traffic.hot = True
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
            backing = baseline.history(hour)
            if backing == NONE:
                traffic.known = False
            rate = baseline.expected(hour)
            if backing == DAY and hour_of_week(hour) >= WEEKEND_START:
                rate *= UNSEEN_WEEKEND
            total += rate * step / 3600.0
            t += step
        return total

    def expired(self, data: Any, now: int) -> bool:
        """Never: the baseline is the point (the account's TTL evicts it)."""
        return False
