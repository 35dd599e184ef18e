"""A seasonal hour-of-week baseline of one quantity (e.g. calls per hour), per key.

Completed hours fold into 168 exponentially weighted slots (one per local hour of the week),
into 24 hour-of-day slots (one per local hour of the day, learning faster) and into an overall
hourly mean; hours with no events fold in as zeros, so a quiet night teaches the baseline that
nights are quiet. The hour in progress is kept apart and only counted once it is complete.

The hour in which a key is first seen is not learned: its first event may come at any minute,
and at the start of observation the calls in progress are missing (so it would teach a norm
far below the truth, and every later hour would look like a surge).

An hour of the week not seen yet (an account's first week) falls back to its hour of the day: the
lower of that hour's running level and its latest day, so after two days a quiet night already
looks quiet and a one-off burst (a dialer run on an account's first night, before `CAP` applies) is
forgotten the next day instead of decaying over a week; until then, an hour seen on one day only
counts at most `CAP` times the hours around it (`SPAN` either side), or a `CAP`-th of the overall
mean if that is higher. A Monday's hour takes the weekdays' level instead once two of them hold it
(`_weekday_low`): its hour of the day learned the weekend last, so a closed office's first Monday
would expect nothing of its morning. An hour of the day not seen yet falls back to the overall
mean. `history` says what backs an hour (`WEEK`: its hour of the week was folded, `DAY`: only its
hour of the day, `NONE`: nothing), so a caller can refuse to judge an hour it never saw, or
discount a guess. From a day of history on, an hour is learned as at most `CAP` times its usual
level (or the mean), so a burst does not become the norm. `lent` is an hour's value for a day
with no history of its own (a first Sunday judged by its Saturday), bounded by the weekdays'
level at that hour of the day, scaled by how busy its own day ran.

>>> s = Seasonal()
>>> for h in range(4):
...     s.add(h, 10.0)
>>> s.add(4, 0.0)        # hour 0 (the first, partial) is skipped; hours 1..3 learned
>>> s.hours_seen, round(s.expected(2), 2), round(s.expected(100), 2)
(3, 10.0, 10.0)
>>> s.expected(26), s.history(2), s.history(26), s.history(5), s.history(0)
(10.0, 2, 1, 0, 0)
"""

from __future__ import annotations

import sys
import zlib
from array import array
from dataclasses import dataclass, field
from typing import Any

from detector.windows.positional import Positional

HOURS_PER_WEEK = 168
HOURS_PER_DAY = 24
ALPHA = 0.3
"""Weight of the newest week in a slot: ~3 weeks of memory."""

DAY_ALPHA = 0.4
"""Weight of the newest day in an hour-of-day slot: ~2 days of memory (weekdays and weekend
days mix in it, so it is only the fallback for hours of the week not seen yet)."""

CAP = 3.0
"""Once a day of history is in, an hour is learned as at most this multiple of its usual level
(the larger of its two slots) or the overall mean, whichever is higher, so a burst (a dialer, a
range scan) does not teach the baseline that this hour is busy: the next silent day (or week)
at that hour would look like an outage, and a repeat of the burst would look normal. The mean
learns every hour as it was, so a quiet hour can still grow into a busy one."""

SPAN = 2
"""Hours either side of an hour of the day whose median level bounds it in `expected` (a burst
of up to two hours stands out; a morning ramp or a three-hour plateau keeps its level)."""

MEAN_ALPHA = 0.05
"""Weight of the newest hour in the overall hourly mean: ~1 day of memory."""

UNSET = -1.0
NONE, DAY, WEEK = 0, 1, 2
"""What backs an hour's expected value (`Seasonal.history`): nothing, its hour of the day, its
hour of the week."""


WEEKEND_START = 5 * 24
"""Saturday 00:00 as an hour of the week (`hour_of_week`)."""

WEEKDAYS_SEEN = 2
"""Weekdays that must hold an hour of the day before `expected` takes their level for a Monday's
hour not seen yet, instead of the hour of the day's (one day may be a burst)."""


def hour_of_week(local_hour: int) -> int:
    """Hour of the week (Monday 00:00 = 0) of an absolute local hour since the epoch.

    The epoch (1970-01-01) was a Thursday, three days after a Monday.

    >>> hour_of_week(0), hour_of_week(24 * 4)
    (72, 0)
    """
    return (local_hour + 72) % HOURS_PER_WEEK


def _blend(old: float, value: float, alpha: float) -> float:
    """An exponentially weighted slot after folding in `value` (the value itself if unset)."""
    return value if old == UNSET else old + alpha * (value - old)


TYPECODE = "f"
"""Slots are 4-byte floats (see `_table`)."""


def _table(size: int = 0) -> array[float]:
    """`size` unset slots, stored as 4-byte floats: a baseline needs no more precision, and an
    account's state (three of these in the default pack) pickles to half the bytes a list of
    floats takes."""
    return array(TYPECODE, [UNSET]) * size


@dataclass(slots=True)
class Seasonal(Positional):
    """Hour-of-week baseline with an hour-of-day fallback; `hour` is the local hour in progress.

    Pickled by position, each table compressed when that makes it shorter (`_packed`): a key's
    first week leaves most of its 168 slots unset, and hours without calls (nights, outliers
    per hour) hold the same value, which the raw 672 bytes repeat.
    """

    slots: array[float] = field(default_factory=_table)
    mean: float = 0.0
    hour: int = -1
    current: float = 0.0
    hours_seen: int = 0
    daily: array[float] = field(default_factory=_table)
    recent: array[float] = field(default_factory=_table)
    """The latest folded value of each hour of the day (a one-day memory beside `daily`)."""
    lending: tuple[int, int, float, list[float]] | None = field(
        default=None, init=False, compare=False, repr=False
    )
    """`lent`'s workings (the hour in progress and the lending day's first hour of the week
    they hold for, its pace, the weekdays' levels), derived from `slots`, which change only
    when an hour is folded: a silent key's ticks ask for them every quarter hour."""

    def add(self, hour: int, value: float) -> None:
        """Add `value` to absolute local `hour`; values for hours already folded are ignored."""
        if hour > self.hour:
            self._roll(hour)
        if hour == self.hour:
            self.current += value

    def _roll(self, hour: int) -> None:
        if self.hour >= 0:
            if self.slots:
                self._fold(self.hour, self.current)
            else:  # the key's first hour is partial: not learned (see the module docstring)
                self._start()
            for gap in range(self.hour + 1, min(hour, self.hour + 1 + HOURS_PER_WEEK)):
                self._fold(gap, 0.0)
        self.hour = hour
        self.current = 0.0

    def _start(self) -> None:
        self.slots = _table(HOURS_PER_WEEK)
        self.daily = _table(HOURS_PER_DAY)
        self.recent = _table(HOURS_PER_DAY)

    def _fold(self, hour: int, value: float) -> None:
        if not self.slots:
            self._start()
        if self.hours_seen == 0:
            self.mean = value
        slot, day = hour_of_week(hour), hour % HOURS_PER_DAY
        old, old_day = self.slots[slot], self.daily[day]
        tame = value
        if self.hours_seen >= HOURS_PER_DAY:
            tame = min(value, max(CAP * max(old, old_day), self.mean))
        self.slots[slot] = _blend(old, tame, ALPHA)
        self.daily[day] = _blend(old_day, tame, DAY_ALPHA)
        self.recent[day] = tame
        self.mean += MEAN_ALPHA * (value - self.mean)
        self.hours_seen += 1

    def expected(self, hour: int) -> float:
        """Expected value for absolute local `hour`: its hour of the week, else its hour of the
        day, else the overall mean."""
        if not self.slots:
            return 0.0
        slot = hour_of_week(hour)
        value = self.slots[slot]
        if value == UNSET and slot < HOURS_PER_DAY:  # a Monday: its day before is a weekend's
            value = self._weekday_low(hour % HOURS_PER_DAY)
        if value == UNSET:
            value = self._day_level(hour % HOURS_PER_DAY)
        return self.mean if value == UNSET else value

    def _weekday_low(self, day: int) -> float:
        """A weekday hour of the day's level from the weekdays alone, once `WEEKDAYS_SEEN` of
        them hold it: the lower median of their hours of the week (a burst on one of them does
        not move it), else `UNSET`."""
        seen = self._weekdays(day)
        return seen[(len(seen) - 1) // 2] if len(seen) >= WEEKDAYS_SEEN else UNSET

    def _weekdays(self, day: int) -> list[float]:
        """The folded values of the weekdays' hours of the week at hour of the day `day`, sorted."""
        days = range(WEEKEND_START // HOURS_PER_DAY)
        return sorted(v for d in days if (v := self.slots[d * HOURS_PER_DAY + day]) != UNSET)

    def _day_level(self, day: int) -> float:
        """An hour of the day's level for `expected`: the lower of its running level and its latest
        day; seen on one day only, at most `CAP` times the median level of the `SPAN` hours either
        side of it and itself, or a `CAP`-th of the overall mean if that is higher (a lone hour of
        a call or two keeps its level; the mean itself, which a busy day lifts to the business
        hours' level, let a night burst be expected again the next night at 15 to 18 calls an hour
        where one is usual). On its first day an hour may hold nothing but a burst (a robocall run
        at 01:00 on a quiet account's first night, before `CAP` applies), which would make the same
        hour of its second night expect a hundred calls; a real busy hour has busy hours around it
        (a morning ramp, a plateau of three hours or more keep their level), or comes back the next
        day."""
        level = self._lower(day)
        if level <= self.mean / CAP or self._folds(day) > 1:  # also UNSET: nothing to bound
            return level
        around = [self._lower(day + k) for k in range(-SPAN, SPAN + 1)]
        known = sorted(v for v in around if v != UNSET)
        if len(known) < 3:
            return level
        return min(level, max(CAP * known[len(known) // 2], self.mean / CAP))

    def _folds(self, day: int) -> int:
        """How many times the hour of the day `day` has been folded (folded hours run without
        a gap up to the hour in progress; after a gap of over a week, at least seven)."""
        first = self.hour - self.hours_seen
        return len(range(first + (day - first) % HOURS_PER_DAY, self.hour, HOURS_PER_DAY))

    def _lower(self, day: int) -> float:
        """The lower of an hour of the day's running level and its latest day (`UNSET` if
        never seen); `day` wraps around midnight."""
        day %= HOURS_PER_DAY
        return min(self.daily[day], self.recent[day])

    def expected_high(self, hour: int) -> float:
        """Like `expected`, but an hour of the week not seen yet takes the *higher* of its hour
        of the day's running level and latest day: the cautious guess for judging a surge (a
        guess too low would make an ordinary busy hour look like one), where `expected` takes
        the lower (the cautious guess for judging silence)."""
        if not self.slots:
            return 0.0
        value = self.slots[hour_of_week(hour)]
        if value == UNSET:
            day = hour % HOURS_PER_DAY
            value = max(self.daily[day], self.recent[day])
        return self.mean if value == UNSET else value

    def lent(self, hour: int) -> float:
        """`expected(hour)` lent to a day with no history of its own (an account's first Sunday
        judged by its Saturday): at most `CAP` times the weekdays' median level at that hour of
        the day, scaled by how busy `hour`'s day ran against the weekdays (`_weekday_levels`).
        One day says little about an hour: two nights of dialling that span a weekend-closed
        account's Saturday are no hours to expect on its Sunday, while a weekend that runs at
        its own level and shape keeps them."""
        value = self.expected(hour)
        first = hour_of_week(hour) - hour % HOURS_PER_DAY
        if self.lending is None or self.lending[:2] != (self.hour, first):
            self.lending = (self.hour, first, *self._pace(first))
        pace, weekdays = self.lending[2:]
        usual = weekdays[hour % HOURS_PER_DAY]
        return value if usual == UNSET else min(value, CAP * pace * usual)

    def _pace(self, first: int) -> tuple[float, list[float]]:
        """How busy the day from hour of the week `first` ran against the weekdays, over the
        hours both have, and the weekdays' levels (`_weekday_levels`)."""
        weekdays = self._weekday_levels()
        pairs = [
            (self.slots[first + h], weekdays[h])
            for h in range(HOURS_PER_DAY)
            if self.slots[first + h] != UNSET and weekdays[h] != UNSET
        ]
        norm = sum(level for _, level in pairs)
        return (sum(own for own, _ in pairs) / norm if norm > 0.0 else 0.0), weekdays

    def _weekday_levels(self) -> list[float]:
        """Each hour of the day's median over the weekdays' hours of the week that were folded
        (`UNSET` where none was): an hour's level on a typical weekday, which a burst on one or
        two of them does not move."""
        levels = []
        for h in range(HOURS_PER_DAY):
            seen = self._weekdays(h)
            levels.append(seen[len(seen) // 2] if seen else UNSET)
        return levels

    def __getstate__(self) -> tuple[Any, ...]:
        """`Positional`'s tuple with each table packed (`_packed`)."""
        state = Positional.__getstate__(self)
        return tuple(_packed(v) if isinstance(v, array) else v for v in state)

    def _restored(self) -> None:
        """Unpack the tables `__getstate__` compressed; `lent`'s workings are worked out anew."""
        self.lending = None
        for name in ("slots", "daily", "recent"):
            value = getattr(self, name)
            if isinstance(value, bytes):
                setattr(self, name, _unpacked(value))

    def _named(self, named: dict[str, object]) -> None:
        """Unpickle the named form; state saved before the hour-of-day slots existed gets unset
        ones, and state saved as lists of floats is stored as tables."""
        Positional._named(self, named)
        for name in ("daily", "recent"):
            if name not in named:
                setattr(self, name, _table(HOURS_PER_DAY if self.slots else 0))
        for name in ("slots", "daily", "recent"):
            value = getattr(self, name)
            if isinstance(value, list):
                setattr(self, name, array(TYPECODE, value))

    def history(self, hour: int) -> int:
        """What backs `expected(hour)`: `WEEK`, `DAY` (its hour of the day only) or `NONE`."""
        if not self.slots:
            return NONE
        if self.slots[hour_of_week(hour)] != UNSET:
            return WEEK
        return NONE if self.daily[hour % HOURS_PER_DAY] == UNSET else DAY


def _packed(table: array[float]) -> array[float] | bytes:
    """A table as zlib-compressed little-endian bytes when that is shorter, else as it is."""
    raw = table
    if sys.byteorder == "big":
        raw = array(TYPECODE, table)
        raw.byteswap()
    packed = zlib.compress(raw.tobytes())
    return packed if len(packed) < len(table) * table.itemsize else table


def _unpacked(packed: bytes) -> array[float]:
    """Inverse of `_packed` for a compressed table."""
    table: array[float] = array(TYPECODE)
    table.frombytes(zlib.decompress(packed))
    if sys.byteorder == "big":
        table.byteswap()
    return table
