"""`outlier`: more of a key's calls beyond its own usual range (say, talk time) than chance allows.

Each key learns the distribution of `field` over its matching CDRs (`LogHistogram`); a CDR is
an *outlier* when it lies at or beyond the key's own `quantile` (a 2-hour call is ordinary for a
wholesale account and extraordinary for a voicebot). The window counts matching CDRs and
outliers; its value is the factor ``outliers / expected outliers``, where the expected ones are
the window's calls times the share of history beyond the limit, and it emits only when the count
is surprising for its volume (`binomial_surprise` against that share, worth at most `max_weight`
calls) and at least `floor` outliers were seen. Nothing is judged before `min_history` calls
were learned and `warmup` has passed since the key was first seen: the first calls to end after
observation starts are the short ones (the long ones are still running), so an early limit
would make every long call look like an outlier. While the
window is suspicious, outliers are not learned, so a burst of long calls does not move the
limit it is judged by.

Each call is judged against the limit in force when it arrives, and the window also sums the
share beyond *that* limit, call by call: the expected outliers are that sum, not today's share
times the window's calls. While history grows (a first day, when the long calls are only
beginning to end) the limit climbs, and calls counted as outliers against an earlier, lower
limit would otherwise be measured against the rarer share of the higher one.

With `clock: end` the window is filled by the calls' end times: a long call is only known when
it ends, so this is the clock for duration rules.

A quiet account takes days to make `min_history` calls, and its own limit, once computed, would
hold whatever burst came first: a 16-call-a-day office whose first long calls arrive before its
20th answered call learns them as ordinary. With `prior_reach` a key judges from its
`PRIOR_AFTER`-th value on against a limit scaled from its own median: a value is an outlier
from `prior_reach` times the median on, and taken to be `1 - quantile` rare (what similar
accounts show: talk times are roughly lognormal, and a 99th percentile 32 times the median is a
shape of 1.5, wider than nearly any account's). A median is known from a handful of calls where
a 99th percentile needs a hundred; the learned limit takes over at `min_history`. Until then
the values beyond the median's limit are not learned at all (a burst's first calls arrive
before the window holds `floor` of them, and would raise the median and the first learned
limit under the burst). A learned limit of a few hundred calls is still mostly their longest,
so until `PRIOR_UNTIL` values are in it rises by at most a doubling per recomputation, unless
the median's limit lies higher (a wholesaler's first limit, 48 minutes from 20 calls, climbs
at once to the 4 hours its history shows, its median allowing 8): the first call of a run,
learned before the window holds `floor` outliers, no longer lifts the limit past the run.

The share alone misleads when traffic winds down: the calls that end in the evening, at night
or after the account stops calling are mostly the long ones started earlier, so a wholesale
account's last two hours of the day can hold ten times its usual share of long calls without a
single unusual call. Each key therefore also learns how many outliers each local hour usually
holds (`Seasonal`, by the kind's clock); once the baseline backs the hour, the expected
outliers are the larger of the share's and the hours': each local hour the window covers, at
its usual, times the part of it covered. The hours before the one in progress count at their
usual as it stood before they were learned (`earlier`): in a first week an hour's usual is the
higher of its level and its latest day, which once learned is today, and the window would be
judged against itself. (The window used to be judged against the hour in progress alone, times
its length: when an account's ordinary long calls stop ending, that hour's usual is 0 and the
long calls the window still held from the hour before looked infinitely many, which made a
wholesale account's busier-than-usual evening a spike.) The hour learns every outlier but those
of a window judged a spike, and when a spike begins the outliers its window holds are taken
back from the hour in progress, so a quiet account's burst repeated at the same hour two days
later is a spike again (a first evening's long calls look suspicious by their share until the
evening is known, but are not judged a spike, see below, and are learned); from its second day
on a burst is learned as at most `CAP` times the hour's level (`Seasonal.CAP`), so a burst does
not become the norm.

Until the baseline backs the hour (on an account's first day, before that hour of the day has
ended once) a window on the `end` clock that would emit is also judged against the calls that
*started* before it: each key counts its calls that were not outliers by the half-hour they
started in (`starts`, reaching `REACH_S` before the window, in its first `STARTS_FOR_S`), and
the outliers expected to end in the window are those calls, scaled to all calls by the share
beyond the limit, times the history's share of talk times beyond the limit *and* long enough,
from each half-hour's middle, to end in the window. The window must be above that too, so a
first evening's wind-down is not a spike. It only ever lowers a verdict: whether the window is
suspicious, and so what the key learns, is decided without it (letting it decide that too added
a false alert: a dialer then learned the outliers of a first afternoon and its limit moved).
Only calls that were not outliers are counted, so a burst of long calls does not raise its own
expectation through them; but the history learns calls as they end, and an evening's ending
calls are the long ones, so the expectation runs high (in the tests' fixture, 21 where 13 end):
a burst ending on a first evening is seen from about 34 extra 3.6-hour calls (where 13 long
ones end), not from 30. That bias grows with the account: the history remembers about 4,000
calls, which for a busy account are the last few hours' endings, so at three times the
fixture's volume (36,000 calls a day) the same burst must be about 180 calls, not 3 x 34 (a
first evening's ordinary wind-down raises nothing at 1,200, 12,000 and 36,000 calls a day
alike). Once the hour is backed its usual is the better yardstick (it knows how this account's
evenings wind down) and the starts are not used: on every hour the expectation hid the
fixture's evening burst of forty 3.6-hour calls, whose first calls, learned before the window
was suspicious, joined the history it is drawn from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Grid, Kind, KindContext, Reading, moment, narrow
from detector.rules.spec import AnyRule, OutlierRule
from detector.windows import Buckets, Seasonal
from detector.windows.clock import LocalHours
from detector.windows.histogram import PER_DOUBLING, LogHistogram, bin_of, lower_edge
from detector.windows.positional import Positional
from detector.windows.seasonal import DAY
from detector.windows.surprise import binomial_surprise

LEARN_LIMIT = 0.5
"""Outliers are not learned while the window's surprise reaches this share of `min_surprise`."""
REFRESH = 64
"""Values learned between two recomputations of the limit."""
RAREST = 0.1
"""The share beyond the limit is never taken below this fraction of ``1 - quantile``: when a
key's longest calls pile up in one bin (a hard cap on call length, say) the limit lands past
everything seen, and a share of almost 0 would make any longer call look impossible."""
NEVER = 1 << 30
"""The limit bin while there is not enough history (nothing is an outlier)."""
PRIOR_AFTER = 5
"""Values learned before a key's median sets its limit under `prior_reach`."""
START_S = 1800
"""Width of the buckets of `Tail.starts` (half an hour of call starts)."""
REACH_S = 8 * 3600
"""How far before a window `Tail.starts` reaches: calls longer than this add nothing to it."""
STARTS_FOR_S = 2 * 86400
"""How long after a key is first seen its starts are counted: by then every hour of the day is
backed by its usual, and the starts are dropped."""
PRIOR_UNTIL = 400
"""Under `prior_reach`, the values a key must have learned before its recomputed limit may rise
freely: until then it rises by at most a doubling at a time, unless the median's limit lies
higher (`_rise`)."""


@dataclass(slots=True)
class Tail(Positional):
    """The window (population and outliers) and the key's distribution with its cached limit
    (pickled by position; the named form of earlier releases loads, its missing outliers per
    hour and shares empty)."""

    window: Buckets = field(default_factory=Buckets)
    shares: Buckets = field(default_factory=Buckets)
    """The share beyond the limit each call of the window was judged against, summed."""
    history: LogHistogram = field(default_factory=LogHistogram)
    limit: int = NEVER
    beyond: float = 0.0
    fresh: int = 0
    """Values learned since the limit was computed."""
    hot: bool = False
    since: int = -1
    """When the key was first seen (epoch s, on the kind's clock)."""
    usual: Seasonal = field(default_factory=Seasonal)
    """Outliers per local hour (the hour of the week, or of the day in the first week)."""
    starts: dict[int, int] = field(default_factory=dict)
    """Calls that were not outliers, by the `START_S` bucket they started in (`end` clock)."""
    earlier: list[float] = field(default_factory=list)
    """The usual of each local hour the window reaches before the one in progress, as it stood
    before that hour was learned (oldest first, the last one the hour just before)."""
    firing: bool = False
    """Whether the window's last verdict was a spike: its outliers are then not learned as the
    hour's usual (those learned before are taken back from the hour in progress), so a repeat
    at the same hour is still a spike."""


class Outlier(Kind[Tail]):
    """Value = outliers in the window / expected outliers, when surprising."""

    name: ClassVar[str] = "outlier"
    watches_all = False
    ticks = False
    forgets = False
    baseline = True

    def __init__(self, rule: AnyRule, ctx: KindContext) -> None:
        spec = narrow(rule, OutlierRule)
        self.grid = Grid.of(spec.window, ctx.lateness_s)
        self.width, self.span, self.keep = self.grid.width, self.grid.span, self.grid.keep
        self.field = spec.field
        self.quantile = spec.quantile
        self.min_history = spec.min_history
        reach = spec.prior_reach
        self.reach_bins = None if reach is None else round(PER_DOUBLING * math.log2(reach))
        self.warmup_s = int(spec.warmup)
        self.floor = spec.floor
        self.min_surprise = spec.min_surprise
        self.max_weight = spec.max_weight
        self.on_end = spec.clock == "end"
        self.window_s = int(spec.window)
        self.window_hours = -(-self.window_s // 3600)
        """Local hours a window can reach before the one in progress (`earlier`)."""
        self.reach = -(-(self.window_s + REACH_S) // START_S)
        """Start buckets a window can draw its expected outliers from."""

    def new_key(self) -> Tail:
        """No history: nothing is an outlier yet."""
        return Tail()

    def observe(self, facts: Facts, matched: bool, tail: Tail) -> Reading | None:
        """Count the CDR (an outlier or not), learn it, and judge the window."""
        if not matched:
            return None
        x = float(getattr(facts, self.field))
        outlier = bin_of(x) >= tail.limit
        share = tail.beyond if tail.limit != NEVER else 0.0
        if not (outlier and (tail.hot or tail.history.total < self.min_history)):
            self._learn(tail, x)
        t, hour = moment(facts, self.on_end)
        if hour > tail.usual.hour >= 0:
            self._remember(tail, hour)
        tail.usual.add(hour, 1.0 if outlier and not tail.firing else 0.0)
        if tail.since < 0:
            tail.since = t
        if self.on_end and not outlier and t - tail.since < STARTS_FOR_S:
            self._started(tail, facts.t // START_S)
        bucket = t // self.width
        if not tail.window.add(bucket, 1.0 if outlier else 0.0, self.span, 1.0, self.keep):
            return None
        tail.shares.add(bucket, share, self.span, 1.0, self.keep)
        if t - tail.since < self.warmup_s:
            return None
        return self._judge(tail, hour, t, facts.clock)

    def _learn(self, tail: Tail, x: float) -> None:
        """Add a value to the distribution; recompute the limit now and then (from the median
        under `prior_reach` until `min_history` values are in)."""
        history = tail.history
        history.add(x)
        tail.fresh += 1
        if history.total < self.min_history:
            if self.reach_bins is not None and history.total >= PRIOR_AFTER:
                tail.limit = median_reach(history, self.reach_bins)
                tail.beyond = 1.0 - self.quantile
            return
        if tail.fresh >= REFRESH or history.total < self.min_history + 1.0:
            tail.limit = self._rise(tail, history.limit(self.quantile))
            tail.beyond = max(history.beyond(tail.limit), RAREST * (1.0 - self.quantile))
            tail.fresh = 0

    def _started(self, tail: Tail, bucket: int) -> None:
        """Count a call that was not an outlier in its start's bucket; once the buckets pass
        the reach, drop those a window can no longer draw from."""
        starts = tail.starts
        starts[bucket] = starts.get(bucket, 0) + 1
        if len(starts) > self.reach + 2:
            oldest = max(starts) - self.reach
            tail.starts = {b: n for b, n in starts.items() if b >= oldest}

    def _rise(self, tail: Tail, limit: int) -> int:
        """The recomputed limit, held under `prior_reach` to at most a doubling above the one in
        force or the median's limit, whichever is higher, until `PRIOR_UNTIL` values are in: a
        99th percentile of a hundred calls is the longest of them, so the first call of a run,
        learned while the window holds no other outlier yet, would lift it past the whole run."""
        if self.reach_bins is None or tail.history.total >= PRIOR_UNTIL or tail.limit == NEVER:
            return limit
        reach = median_reach(tail.history, self.reach_bins)
        return min(limit, max(tail.limit + PER_DOUBLING, reach))

    def _judge(self, tail: Tail, hour: int, t: int, clock: LocalHours) -> Reading | None:
        """The window's outliers against the expected ones (0 unless surprising)."""
        at = t if self.on_end else None
        window = tail.window
        outliers, calls = window.total, window.count
        if outliers < self.floor or tail.limit == NEVER:
            tail.hot = tail.firing = False
            return None
        expected = tail.shares.total
        backed = tail.usual.history(hour) >= DAY
        if backed:
            expected = max(expected, self._usual(tail, clock.local_second(t)))
        weight = min(tail.history.total, self.max_weight)
        surprise = binomial_surprise(outliers, calls, min(expected / calls, 1.0), weight)
        tail.hot = surprise >= LEARN_LIMIT * self.min_surprise
        if not backed and at is not None and surprise >= self.min_surprise:
            ending = self._ending(tail, at)  # only ever lowers the verdict, never the learning
            if ending > expected:
                expected = ending
                surprise = binomial_surprise(outliers, calls, min(expected / calls, 1.0), weight)
        if surprise < self.min_surprise:
            tail.firing = False
            return Reading(0.0, calls, "", at, expected)
        if not tail.firing:  # a spike begins: take its outliers back from the hour's usual
            tail.firing = True
            tail.usual.current = max(tail.usual.current - outliers, 0.0)
        note = (
            f"{outliers:.0f} of {calls:.0f} calls at or beyond {lower_edge(tail.limit):.0f}"
            f" ({self.field}), about {expected:.2g} expected"
        )
        return Reading(outliers / max(expected, 1e-9), calls, note, at, expected)

    def _remember(self, tail: Tail, hour: int) -> None:
        """Before the hours up to `hour` are learned, keep the usual of those the window can
        reach: once learned, an hour of the window would be judged against itself (in a first
        week an hour's usual is the higher of its level and its latest day, which is today)."""
        reach = self.window_hours
        usual = tail.usual
        begun = max(usual.hour, hour - reach)
        learning = [usual.expected_high(h) for h in range(begun, hour)]
        tail.earlier = [*tail.earlier, *learning][-reach:]

    def _usual(self, tail: Tail, end: int) -> float:
        """Outliers the window usually holds up to local second `end`: each local hour it
        covers, at its usual before it was learned (`earlier`), times the part covered."""
        begin = end - self.window_s
        seasonal, earlier = tail.usual, tail.earlier
        expected = 0.0
        for hour in range(begin // 3600, end // 3600 + 1):
            covered = min(end, hour * 3600 + 3600) - max(begin, hour * 3600)
            back = seasonal.hour - hour
            if covered > 0:
                kept = 0 < back <= len(earlier)
                usual = earlier[-back] if kept else seasonal.expected_high(hour)
                expected += usual * covered / 3600.0
        return expected

    def _ending(self, tail: Tail, end: int) -> float:
        """Outliers expected to end in the window up to `end` from the calls started before it:
        per start bucket (taken at its middle), its calls scaled to all calls, times the
        history's share of talk times beyond the limit that end in the window."""
        history, limit = tail.history, tail.limit
        begin = end - self.window_s
        expected = 0.0
        for bucket, calls in tail.starts.items():
            start = bucket * START_S + START_S // 2
            low, high = max(limit, bin_of(begin - start)), bin_of(end - start)
            if high > low:
                expected += calls * (history.beyond(low) - history.beyond(high))
        return expected / max(1.0 - tail.beyond, 0.5)

    def tick(self, data: Tail, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def compact(self, data: Tail, now: int) -> bool:
        """On a sweep: drop the window once it is spent (the baseline stays)."""
        spent = data.window.clear_at(now // self.width, self.span + self.keep)
        if spent:
            data.shares.clear_at(now // self.width, self.span + self.keep)
        if data.starts and (spent or now - data.since >= STARTS_FOR_S + REACH_S):
            data.starts = {}
        return bool(spent)

    def expired(self, data: Tail, now: int) -> bool:
        """Never: the distribution is the point (the account's TTL evicts it)."""
        return False


def median_reach(history: LogHistogram, bins: int) -> int:
    """The limit bin `bins` bins past the history's median (`prior_reach` times it)."""
    return history.limit(0.5) + bins
