"""`spike`: a key's window aggregate (a count, or a sum such as talk time) far above its own norm.

The baseline learns the aggregate per local hour (`Seasonal`: hour of the week, with the hour
of the day as the fallback in an account's first week, bursts capped so they are not learned
as normal). A window emits when it is both

- far above what the baseline expects for the window: the value is the factor
  ``window / expected`` (expected never below `min_baseline`), compared with the thresholds.
  The expectation adds up each local hour the window covers, at its usual, times the part
  covered: judged against the hour in progress alone, a window that had just left a busy
  hour for a quiet one (noon, midnight) held the busy hour's amount against the quiet hour's
  usual (a call centre's lunch hour and another's midnight were spend "spikes" on worlds
  1-10);
- surprising for its volume: `poisson_surprise` of the window against the expectation, with
  negative binomial shape `dispersion` (halved while only the hour of the day backs it), is at
  least `min_surprise`.

A count is judged as a count. A sum is judged in *equivalent calls*: talk time is a sum of a
random number of calls of random length, so its variance is ``calls * E[x^2]``; dividing the
sum by ``E[x^2] / E[x]`` (both learned per key) gives a quantity whose variance equals its mean,
which the count test then judges. Long, irregular calls thus need a larger excess to be
believed than short, regular ones.

With ``per: call`` the expectation is the window's own calls times the key's usual amount per
call (say, talk time: the value is then the window's mean call length over the usual one, the
ACD jump), which a campaign that doubles an account's calls leaves unchanged; it judges once
`PER_CALL_HISTORY` calls were learned. Once the baseline backs the hour, the expectation is
never below the hour's usual total either: on the `end` clock, the calls that end while an
account's traffic winds down (the evening, the night, a pause) are the long ones started
before, so their mean is far above the usual per call, although the hour carries no more talk
time than it usually does at that hour. A window is a spike only when it is above both what
its calls usually bring and what the hour usually brings.

A summed window must not rest on one call: it emits only if it is still surprising without
its largest call (kept per bucket, `peaks`). For a heavy-tailed amount such as talk time, a sum
far above its usual is most often one large value, and one very long call is `duration-cap`'s
to judge (a 2-hour call on an office of 64 calls a day was a "spike" twelve times usual).

Nothing is judged before `warmup` of history, nor in an hour of the day the baseline has never
seen (a first morning after a first night would look like a surge: the share-based kinds and
the absolute rules judge an account's first hours). With `clock: end` the window is filled by
the calls' end times, which is when a long call becomes known (duration rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, Kind, KindContext, Reading, amount_of, moment, narrow
from detector.rules.spec import AnyRule, SpikeRule
from detector.windows import Buckets, Seasonal
from detector.windows.clock import LocalHours
from detector.windows.moments import Moments
from detector.windows.positional import Positional
from detector.windows.seasonal import DAY, WEEK
from detector.windows.surprise import poisson_surprise

LEARN_LIMIT = 0.5
"""An hour in which the window's surprise reaches this share of `min_surprise` is not learned
into the moments (a burst of long calls must not teach the key that calls are long)."""
PER_CALL_HISTORY = 50
"""Calls learned before a `per: call` rule judges (the usual amount per call must be known)."""


@dataclass(slots=True)
class Trend(Positional):
    """The current window, the key's hourly baseline and, for sums, per-call moments (pickled
    by position; the named form of earlier releases loads, its peaks empty)."""

    window: Buckets = field(default_factory=Buckets)
    baseline: Seasonal = field(default_factory=Seasonal)
    moments: Moments = field(default_factory=Moments)
    """The amount per call (summed aggregates only)."""
    peaks: dict[int, float] = field(default_factory=dict)
    """The largest amount of one call per bucket of the window (summed aggregates only)."""


class Spike(Kind[Trend]):
    """Value = window aggregate / expected aggregate, when the window is surprising."""

    name: ClassVar[str] = "spike"
    watches_all = False
    ticks = False
    forgets = False
    baseline = True

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        spec = narrow(rule, SpikeRule)
        self.grid = Grid.of(spec.window)
        self.width, self.span = self.grid.width, self.grid.span
        self.amount = amount_of(spec.aggregate)
        self.window_s = int(spec.window)
        self.floor = spec.floor
        self.min_baseline = spec.min_baseline
        self.warmup_hours = int(spec.warmup // 3600)
        self.min_surprise = spec.min_surprise
        self.dispersion = spec.dispersion
        self.on_end = spec.clock == "end"
        self.per_call = spec.per == "call"

    def new_key(self) -> Trend:
        """No history yet."""
        return Trend()

    def observe(self, facts: Facts, matched: bool, data: Trend) -> Reading | None:
        """Learn the CDR into the baseline and the window; compare once the hour is known."""
        if not matched:
            return None
        t, hour = moment(facts, self.on_end)
        x = self.amount(facts) if self.amount else 1.0
        data.baseline.add(hour, x)
        bucket = t // self.width
        if self.amount:
            data.moments.add(hour, x)
            self._peak(data, bucket, x)
        if not data.window.add(bucket, x, self.span):
            return None
        current = data.window.total
        baseline: Seasonal = data.baseline
        if baseline.hours_seen < self.warmup_hours or current < self.floor:
            return None
        norm = self._expected(data, hour, facts.clock.local_second(t))
        if norm is None:
            return None
        expected, backing = norm
        surprise = self._surprise(current, expected, data.moments, backing)
        if surprise >= LEARN_LIMIT * self.min_surprise:
            data.moments.taint()
        at = t if self.on_end else None
        if surprise < self.min_surprise or self._one_call(data, bucket, expected, backing):
            return Reading(0.0, current, "", at, expected)
        return Reading(current / expected, current, f"usually {expected:.4g}", at, expected)

    def _peak(self, data: Trend, bucket: int, x: float) -> None:
        """Keep the largest amount of one call in `bucket`; drop buckets the window has left."""
        peaks = data.peaks
        if x > peaks.get(bucket, 0.0):
            peaks[bucket] = x
            if len(peaks) > self.span:
                data.peaks = {b: v for b, v in peaks.items() if b > bucket - self.span}

    def _one_call(self, data: Trend, head: int, expected: float, backing: int) -> bool:
        """Whether a summed window is surprising only through its largest call: without it, the
        rest is not. One very long call is `duration-cap`'s to judge, not a spike of talk time
        (for a heavy-tailed amount, a sum far above its usual is most often one large value)."""
        if not self.amount:
            return False
        peak = max((v for b, v in data.peaks.items() if b > head - self.span), default=0.0)
        rest = data.window.total - peak
        if self.per_call:
            expected = max(expected - data.moments.mean, self.min_baseline)
        return self._surprise(rest, expected, data.moments, backing) < self.min_surprise

    def _expected(self, data: Trend, hour: int, end: int) -> tuple[float, int] | None:
        """What the window up to local second `end` is expected to hold and what backs it;
        None when not known yet. Per call, the hour's usual total is only a floor (the hour in
        progress times the window's length, as tuned for `duration-talk-spike`); per hour it
        is the expectation, over every hour the window covers (`_usual`)."""
        baseline = data.baseline
        backing = baseline.history(hour)
        if self.per_call:
            if data.moments.calls < PER_CALL_HISTORY:
                return None
            usual = baseline.expected_high(hour) * self.window_s / 3600.0 if backing >= DAY else 0.0
            return max(data.window.count * data.moments.mean, usual, self.min_baseline), WEEK
        if backing < DAY:
            return None
        return max(self._usual(baseline, end), self.min_baseline), backing

    def _usual(self, baseline: Seasonal, end: int) -> float:
        """The window's usual up to local second `end`: each local hour it covers at its usual,
        times the part covered."""
        begin = end - self.window_s
        expected = 0.0
        for hour in range(begin // 3600, end // 3600 + 1):
            covered = min(end, hour * 3600 + 3600) - max(begin, hour * 3600)
            if covered > 0:
                expected += baseline.expected_high(hour) * covered / 3600.0
        return expected

    def _surprise(self, current: float, expected: float, moments: Moments, backing: int) -> float:
        """How surprising `current` is against `expected` (sums in equivalent calls)."""
        size = self.dispersion if backing == WEEK else self.dispersion / 2.0
        if self.amount:
            if moments.square <= 0.0:
                return 0.0
            scale = moments.mean / moments.square
            current, expected = current * scale, expected * scale
        return poisson_surprise(current, expected, size)

    def tick(self, data: Trend, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def compact(self, data: Trend, now: int) -> bool:
        """On a sweep: drop the window and its peaks once it is spent (the baseline stays)."""
        spent = bool(data.window.clear_at(now // self.width, self.span))
        if spent:
            data.peaks = {}
        return spent

    def expired(self, data: Trend, now: int) -> bool:
        """Never: the baseline is the point (the account's TTL evicts it)."""
        return False
