"""`flatline`: a key that normally has traffic has had none for longer than chance allows.

Matching CDRs feed an hour-of-week baseline (`Seasonal`) and mark the last call. On each tick
(the watermark moving on) the calls the baseline expected since the last call are added up
(`missed`), hour by hour of the account's local time, at the key's *pace* before the silence
(`pace`: calls seen over calls expected, the lower of its last hours' and its local day's so
far), so the value is "about N calls expected since the last one" and a day on which a dialer
runs no campaign, or an office is half closed, is judged at that day's pace (the last hours
alone remember the busy evening before midnight for hours). A silence emits when

- it is at least `window` long, and the thresholds are met (`missed` is the value); and
- it is surprising: the chance of missing `missed` calls is at most ``10^-min_surprise``.
  Each local hour of the silence swings on its own (a negative binomial of shape
  `dispersion`: ordinary hours swing well beyond chance), and the whole silence at most as one
  of shape `spell_dispersion` (what its hours share: a quiet day, a baseline a share off), so
  calls missed over many quiet hours are rarer than as many missed in one busy hour. A busy
  call centre is judged within minutes, a 10-call-a-day office over some hours.

Some keys have *off-days*: a dialer or a voicebot runs campaigns on some days only and makes a few
percent of its usual calls on the others, from midnight on, so a silence that begins before such a
day's first call is ordinary for it (and would be an outage for a call centre). Each local day
expected to hold at least `OFF_DAY_MIN` calls is counted (`days`) and, if it held under
`OFF_DAY_SHARE` of them, remembered as an off-day (`off_days`, and in `off_calls` how busy it ran);
a day closed during a silence joins these counts only when a call ends the silence, since a silence
is no evidence that the key has off-days (a small dialer silent for two days made its second day
look like one of its usual off-days). Every local day a silence touches is then an on-day or an
off-day (at the key's off-day share of the baseline, learned from its off-days; before it has any,
its inbound share plus a dialer's 15 % of its outbound one, since a day without a campaign still
brings the calls of its callers): the chance of missing its calls is the mixture of the two, the
chance of an off-day being the key's own share of off-days with a prior (`OFF_PRIOR` x its outbound
share ^ `OUTBOUND_POWER` against `ON_PRIOR` days: campaigns dial out, while the callers of an
inbound line do not all take the same day off), updated by the calls the day brought before the
silence (a busy morning rules an off-day out, so an outage in the middle of a dialer's campaign day
is judged as on a steady account). `silent_day` says how much likelier each day makes the silence.
A steady account, or one that receives calls, is judged nearly as without off-days; a dialer that
has had them needs a far longer silence on a day that starts silent. Every matching call counts for
the pace and the day, also calls in the same second (a busy account makes many).

Nothing is judged until the baseline holds `warmup` hours of history, nor over an hour whose
hour of the day the baseline has never seen. Within the first week, weekday hours of the week
not seen yet are expected at their hour-of-day level (the lower of its running level and its
latest day, see `Seasonal`), so a day of history suffices. Weekdays say nothing about how busy
a weekend runs (many offices are closed, some dialers run only then), so a first Sunday is
judged by the Saturday before it, each hour at most three times (`CAP`) the weekdays' median
level at that hour scaled by the Saturday's pace against the weekdays (`Seasonal.lent`: two
nights of dialling that span a closed office's Saturday are no hours to expect on its Sunday),
and a first Saturday (or a Sunday with no Saturday before it) by its own calls: the weekdays'
hour-of-day level is only the shape of its hours, and the day is judged at its own pace against
that shape (`weekend_pace`: its calls over what the shape expected so far, the silence's hours
included, with no floor and no "as usual" prior; `guess` adds up the shape's calls for the
day). So a support desk that answered 4,000 calls on its first Saturday morning is flagged
within minutes of going silent, and a closed office's two Saturday calls say the day runs at a
few percent. Its calls count at most as many as the shape expected before the silence: a burst
(a robocall run on a closed office's Saturday) does not make the day look open. A silence that
reaches into a first weekend day from the day before counts nothing for that day (closed or
open, no call has said yet), but its part before midnight is still judged: in a backtest or
replay, which sees time pass once per batch of CDRs, a busy account silent from twenty minutes
before its first Saturday was never flagged. Known limit: a business whose Saturdays end at
noon and whose first Saturday morning ran as busy as its weekdays is flagged that afternoon
(from its second Saturday on it is judged by its own Saturdays).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from detector.rules.fields import Facts
from detector.rules.kinds.base import Kind, KindContext, Reading, narrow
from detector.rules.kinds.offdays import close_day, release, silent_day
from detector.rules.kinds.pace import OWN_PACE, hour_rate, kept, pace, weekend_pace
from detector.rules.spec import AnyRule, FlatlineRule
from detector.rules.template import human_duration
from detector.windows import Seasonal
from detector.windows.buckets import NEVER
from detector.windows.clock import LocalHours
from detector.windows.positional import Positional
from detector.windows.surprise import silence_surprise

QUARTER = 900
"""Every UTC offset is a whole number of quarter hours, so a UTC quarter lies in one local hour."""

DAY_S = 86400
"""Longest local day (a clock change adds an hour, never a day)."""
MAX_STEP_S = 7 * 86400
"""Longest stretch a single tick adds up (a feed gap longer than this is not a flatline)."""

LEVEL_S = 3 * 3600.0
"""Memory of how busy the key runs today against its baseline (e-folding time, s)."""

OUTBOUND_ALPHA = 0.01
"""Weight of the newest call in the key's outbound share (about its last 100 calls)."""


class Part(NamedTuple):
    """What the baseline expects of one local hour (or the part of it a tick covers)."""

    hour: int
    due: float
    """Calls expected (weekend hours without weekend history: none, see `guess`)."""
    silent: float
    """The calls of it after the last call, at the pace the silence is judged at."""
    guess: float
    """The weekday level's calls for a weekend hour without weekend history."""
    usual: float
    """What an off-day's share of `silent` is a share of (see `Traffic.today_due`)."""

    def plus(self, other: Part) -> Part:
        """The same local hour's two stretches added up."""
        return Part(self.hour, self.due + other.due, self.silent + other.silent,
                    self.guess + other.guess, self.usual + other.usual)  # fmt: skip


@dataclass(slots=True)
class Traffic(Positional):
    """The key's hourly baseline, its last call and the silence since (pickled by position)."""

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
    guess: float = 0.0
    """Calls the weekday hour-of-day level expects on the local day's weekend hours that have no
    weekend history yet (a first weekend day), up to `ticked` (see `hour_rate`)."""
    off_days: float = 0.0
    """Recent days that ran far below the baseline (a dialer without a campaign), decayed."""
    days: float = 0.0
    """Recent days counted for off-days at all (decayed alike)."""
    outbound: float = 0.5
    """Share of the key's recent calls that were outbound (decayed by `OUTBOUND_ALPHA`)."""
    off_calls: float = 0.0
    """The off-days' calls as shares of their expected calls, summed (decayed alike)."""
    before: float = 0.0
    """Calls the baseline expected on the local day of the last call, up to it (-1: not
    worked out yet; 0 on a day the silence began before)."""
    today: float = 0.0
    """Calls missed (at the key's pace) on the current local day of the silence."""
    doubt: float = 0.0
    """How much likelier (log10) the silence's earlier local days are as possible off-days."""
    hour: int = -1
    """The local hour (hours since the epoch) whose silent calls `hour_missed` holds."""
    hour_missed: float = 0.0
    """Calls missed (at the key's pace) in that local hour of the silence."""
    hours_surprise: float = 0.0
    """The silence's earlier local hours' surprise, summed (each hour its own swing)."""
    today_due: float = 0.0
    """What an off-day's share of the silence's part of the current local day is a share of
    (`silent_day`): on a first weekend day the weekday level's calls before the day's own pace
    (`weekend_pace` already measured how quiet the day runs), else `today`."""
    held_days: float = 0.0
    held_off: float = 0.0
    held_calls: float = 0.0
    """Days closed since the last call, as `days`, `off_days` and `off_calls` count them (decayed
    alike): a silence is no evidence that the key has off-days, so its own days join the
    counts only when a call ends it (`offdays.release`)."""
    day_kept: float = 0.0
    """The local day's calls, each counted only up to what the baseline (or a first weekend
    day's weekday level) expected by its time, give or take chance (`pace.kept`): what a first
    weekend day's pace is measured from."""


class Flatline(Kind[Traffic]):
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
        self.spell = spec.spell_dispersion

    def new_key(self) -> Traffic:
        """No history yet."""
        return Traffic()

    def observe(self, facts: Facts, matched: bool, traffic: Traffic) -> Reading | None:
        """Learn the CDR; a call ends the silence (a flatline is never found on a CDR)."""
        if not matched:
            return None
        traffic.baseline.add(facts.local_hour, 1.0)
        if facts.local_hour // 24 > traffic.day:
            self._new_day(traffic, facts.local_hour // 24, None)
        traffic.outbound += OUTBOUND_ALPHA * ((facts.direction == "outbound") - traffic.outbound)
        traffic.day_seen += 1.0  # every call, also those in the same second as the last
        traffic.day_kept = kept(traffic.day_kept, traffic.day_due + traffic.guess)
        if traffic.held_days:
            release(traffic)
        traffic.seen += 1.0
        traffic.level = _level(traffic)
        if facts.t > traffic.last:
            _end_silence(traffic, facts.t)
        return None

    def tick(self, traffic: Traffic, now: int, clock: LocalHours) -> Reading | None:
        """Add up what was expected since the last tick (for the pace, the local day, and for
        the silence when the key is silent); judge the silence."""
        if traffic.last == NEVER or now <= traffic.ticked:
            return None
        if traffic.ticked == NEVER:
            traffic.ticked = traffic.last  # the first tick counts from the last call
        start = max(traffic.ticked, now - MAX_STEP_S)
        fade = math.exp(-(now - start) / LEVEL_S)
        traffic.seen *= fade
        traffic.due *= fade
        for hour, due, silent, guess, usual in self._expected(traffic, start, now, clock):
            day = hour // 24
            if silent > 0.0:
                self._hourly(traffic, hour, silent)
            if day > traffic.day:
                self._new_day(traffic, day, clock)
            traffic.due += due
            if day == traffic.day:
                traffic.day_due += due
                traffic.guess += guess
            traffic.missed += silent
            traffic.today += silent
            traffic.today_due += usual
        traffic.ticked = now
        silence = now - traffic.last
        if traffic.baseline.hours_seen < self.warmup_hours or not traffic.known:
            return None
        if silence < self.least_s:
            return None
        missed = traffic.missed
        if self._surprise(traffic, clock) < self.min_surprise:
            return Reading(0.0, missed, "", None, missed)
        note = f"no calls for {human_duration(silence - silence % 60)}"
        return Reading(missed, missed, note, None, missed)

    def _surprise(self, traffic: Traffic, clock: LocalHours) -> float:
        """``-log10`` of the chance of the silence: the on-day chance of missing `missed`
        calls (`_on_days`), made likelier by each local day of it that may be an off-day
        (`doubt` for its earlier days, `silent_day` for today's part)."""
        on_days = self._on_days(traffic)
        return on_days - traffic.doubt - self._today(traffic, clock, on_days)

    def _on_days(self, traffic: Traffic) -> float:
        """``-log10`` of the chance of the silence on on-days: each local hour swings on its
        own (negative binomial of shape `dispersion` per hour), and the whole silence together
        at most as a negative binomial of shape `spell` (a quiet day, a baseline a share off:
        what all its hours share)."""
        hours = traffic.hours_surprise
        hours += silence_surprise(traffic.hour_missed, 0.0, self.dispersion)
        return min(silence_surprise(traffic.missed, 0.0, self.spell), hours)

    def _today(self, traffic: Traffic, clock: LocalHours, on_days: float) -> float:
        """`silent_day` for the silence's current local day (`before` worked out once), its
        odds stretched as much as the hours make the silence surer than a single swing of
        shape `dispersion` would (an off-day's hours swing alike)."""
        if traffic.before < 0.0:
            traffic.before = self._before(traffic, clock)
        single = silence_surprise(traffic.missed, 0.0, self.dispersion)
        stretch = max(on_days / single, 1.0) if single > 0.0 else 1.0
        return silent_day(traffic, self.dispersion, traffic.day_seen, traffic.before, stretch)

    def _before(self, traffic: Traffic, clock: LocalHours) -> float:
        """Calls the baseline (or, on a first weekend day, its weekdays' level) expected on the
        local day of the last call, up to it (an hour without either counts none: only the
        silence's hours decide `known`)."""
        end = traffic.last
        t = end - end % QUARTER
        day = clock.local_hour(t) // 24
        while clock.local_hour(t - QUARTER) // 24 == day and end - t < DAY_S:
            t -= QUARTER
        known = traffic.known
        parts = self._expected(traffic, t, end, clock)
        traffic.known = known
        return sum(part.due + part.guess for part in parts)

    def _weekend_level(self, traffic: Traffic) -> float:
        """`weekend_pace` of the silence's first weekend day: its calls against what its
        weekdays' level expected before the silence (`before`, as the ticks counted it: the
        day's hours are folded into the baseline at their own level as they end, so working
        them out again would find the day as busy as itself), counted at most as many (a day
        busier than that says no more than "as busy as a weekday"), each call only up to what
        the level expected by its time (`day_kept`: a robocall run on a closed dialer's
        Saturday night counts as the night's few calls, so a stray call in the morning does
        not make the day look open), and what the silence has expected since."""
        expected = traffic.day_due + traffic.guess
        if traffic.before < 0.0:
            traffic.before = expected
        calls = min(traffic.day_kept, traffic.before)
        silent = max(expected - traffic.before, 0.0)
        return weekend_pace(calls, traffic.before, silent, self.dispersion)

    def _hourly(self, traffic: Traffic, hour: int, silent: float) -> None:
        """Add `silent` missed calls to the silence's local `hour`, folding the hour before."""
        if hour != traffic.hour:
            traffic.hours_surprise += silence_surprise(traffic.hour_missed, 0.0, self.dispersion)
            traffic.hour, traffic.hour_missed = hour, 0.0
        traffic.hour_missed += silent

    def _new_day(self, traffic: Traffic, day: int, clock: LocalHours | None) -> None:
        """Close the local day: fold the silence's part of it into `doubt`, remember whether
        it was an off-day (`close_day`), and start the next one (silent so far)."""
        if traffic.today > 0.0 and clock is not None:
            traffic.doubt += self._today(traffic, clock, self._on_days(traffic))
        if traffic.day >= 0:
            close_day(traffic, day - traffic.day, traffic.day_seen, traffic.day_due)
        traffic.day, traffic.day_seen, traffic.day_due, traffic.guess = day, 0.0, 0.0, 0.0
        traffic.day_kept = 0.0
        traffic.before = traffic.today = traffic.today_due = 0.0

    def _expected(self, traffic: Traffic, start: int, now: int, clock: LocalHours) -> list[Part]:
        """What the baseline expects over [start, now), per local hour (`Part`, quarters pro
        rata); clears `known` when an hour cannot be judged (see `hour_rate`)."""
        baseline = traffic.baseline
        parts: list[Part] = []
        t = start
        while t < now:
            step = min(QUARTER - t % QUARTER, now - t)  # never straddles a local hour
            hour = clock.local_hour(t)
            rate, guess, level = hour_rate(baseline, hour, traffic, clock)
            overlap = max(0, t + step - max(t, traffic.last))
            own = level == OWN_PACE
            if own:
                level = self._weekend_level(traffic) if overlap else 0.0
            usual = (rate + guess) * overlap / 3600.0
            silent = level * usual
            part = Part(hour, rate * step / 3600.0, silent, guess * step / 3600.0,
                        usual if own else silent)  # fmt: skip
            if parts and parts[-1].hour == hour:
                parts[-1] = parts[-1].plus(part)
            else:
                parts.append(part)
            t += step
        return parts

    def expired(self, data: Traffic, now: int) -> bool:
        """Never: the baseline is the point (the account's TTL evicts it)."""
        return False


def _level(traffic: Traffic) -> float:
    """The key's pace for its next silence: the lower of its last hours' and its local day's
    so far (a day that began at a twentieth of the usual is judged at that, also hours later,
    while the last hours still remember the busy evening before midnight)."""
    return min(pace(traffic.seen, traffic.due), pace(traffic.day_seen, traffic.day_due))


def _end_silence(traffic: Traffic, t: int) -> None:
    """A call at `t`: restart the silence."""
    traffic.last = t
    traffic.missed = traffic.today = traffic.today_due = traffic.doubt = 0.0
    traffic.hour, traffic.hour_missed, traffic.hours_surprise = -1, 0.0, 0.0
    traffic.before = -1.0
    traffic.known = True
