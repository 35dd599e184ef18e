"""`shift`: a key's share of something (no-answer, failures, short calls) far above its own usual.

The window is a `ratio` window (same late-CDR handling); the baseline is the key's usual share
(`UsualShare`), learned per completed hour from hours that were not suspicious, and blended with
a *prior* (`prior`, worth `prior_weight` calls: the share similar accounts show) so that an
account is judged from its first calls on. A window emits when its share is both

- far above the usual share: the value is the excess in points (0.3 = 30 points above), or
  with ``measure: odds`` the odds ratio (``odds(window) / odds(usual)``: 3 means the part
  grew three times as fast as the rest, e.g. three times the usual short calls for the same
  long ones, which is what a burst added on top of ordinary traffic does whatever the usual
  share); the thresholds are in that measure; and
- surprising for its volume: `binomial_surprise` of the window against the usual share, with
  the usual share worth at most `max_weight` calls, is at least `min_surprise`.

The first condition is the effect an analyst would call a surge; the second keeps a 14-call
window and a 1,400-call window at the same false-alert rate (a small account needs a bigger
excess to be believed, a big one cannot alert on a few points). An hour whose own share reached
half the `min_surprise` is not learned, so a surge that lasts is never taken as the new normal.

Why a share and not a count: it judges an account on its first day (the prior), it does not
care how busy the account is, and an account's mix (answer rate, failures) moves far less from
hour to hour than its volume does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Kind, KindContext, Reading, narrow
from detector.rules.kinds.ratio import Ratio
from detector.rules.spec import AnyRule, ShiftRule
from detector.windows import Buckets
from detector.windows.clock import LocalHours
from detector.windows.surprise import binomial_surprise
from detector.windows.usual import UsualShare

LEARN_LIMIT = 0.5
"""An hour is not learned when its own surprise reaches this share of `min_surprise`."""
LEARN_AFTER = 30.0
"""Calls of history (beyond the prior's weight) before suspicious hours are left out."""


@dataclass(slots=True)
class Share:
    """The window (population and part) and the key's usual share."""

    window: Buckets = field(default_factory=Buckets)
    usual: UsualShare = field(default_factory=UsualShare)
    since: int = -1
    """The start of the key's first call (epoch s), for `warmup`."""

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        """Unpickle; a key saved before `since` existed is past any warm-up."""
        self.since = 0
        for name, value in state[1].items():
            setattr(self, name, value)


class Shift(Kind[Share]):
    """Value = window share − usual share, when the window's share is surprising."""

    name: ClassVar[str] = "shift"
    watches_all = False
    ticks = False
    forgets = False
    baseline = True

    def __init__(self, rule: AnyRule, ctx: KindContext) -> None:
        spec = narrow(rule, ShiftRule)
        self.ratio = Ratio(spec, ctx)
        """The window and its late-CDR handling, shared with the `ratio` kind."""
        self.where = self.ratio.where
        self.level = self.ratio.floors.level
        self.prior = spec.prior
        self.prior_weight = spec.prior_weight
        self.max_weight = spec.max_weight
        self.min_surprise = spec.min_surprise
        self.odds = spec.measure == "odds"
        self.warmup_s = int(spec.warmup)

    def new_key(self) -> Share:
        """No window, no history: the prior alone."""
        return Share()

    def observe(self, facts: Facts, matched: bool, data: Share) -> Reading | None:
        """Count the CDR in the window and the open hour; judge the window against history."""
        if not matched:
            return None
        part = 1.0 if self.where(facts) else 0.0
        usual: UsualShare = data.usual
        hour = facts.t // 3600
        if hour > usual.hour:
            usual.roll(hour, self._learnable(usual))
        usual.add(hour, part)
        reading = self.ratio.read(facts, part, data.window)
        if data.since < 0:
            data.since = facts.t
        if reading is None or facts.t - data.since < self.warmup_s:
            return None
        return self.judge(reading, usual)

    def judge(self, reading: Reading, usual: UsualShare) -> Reading:
        """The window's change from the usual share (0 unless surprising), usual as expected."""
        usual_share = usual.share(self.prior, self.prior_weight)
        share, volume = reading.value, reading.volume
        change = self.change(share, usual_share)
        if change < self.level:
            return Reading(change, volume, "", reading.at, usual_share)
        weight = usual.weight(self.prior_weight, self.max_weight)
        if binomial_surprise(share * volume, volume, usual_share, weight) < self.min_surprise:
            return Reading(0.0, volume, "", reading.at, usual_share)
        note = f"{share:.0%} against a usual {usual_share:.0%}"
        return Reading(change, volume, note, reading.at, usual_share)

    def change(self, share: float, usual: float) -> float:
        """The window's share against the usual one: points above it, or the odds ratio."""
        if not self.odds:
            return share - usual
        if share >= 1.0:
            return math.inf
        return (share / (1.0 - share)) / (usual / (1.0 - usual))

    def _learnable(self, usual: UsualShare) -> bool:
        """Whether the hour closing now may join the baseline: it was not suspicious, or the
        key has too little history for anything to be suspicious yet (else an account whose
        share differs from the prior would never learn its own)."""
        n = usual.open_population
        if n <= 0.0 or usual.population < self.prior_weight + LEARN_AFTER:
            return True
        p = usual.share(self.prior, self.prior_weight)
        weight = usual.weight(self.prior_weight, self.max_weight)
        surprise = binomial_surprise(usual.open_part, n, p, weight)
        return surprise < LEARN_LIMIT * self.min_surprise

    def tick(self, data: Share, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks."""
        return None

    def compact(self, data: Share, now: int) -> bool:
        """On a sweep: drop the window once it is spent (the baseline stays)."""
        ratio = self.ratio
        return bool(data.window.clear_at(now // ratio.width, ratio.span + ratio.keep))

    def expired(self, data: Share, now: int) -> bool:
        """Never: the usual share is the point (the account's TTL evicts it)."""
        return False
