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
half the `min_surprise` is not learned, nor one that closes while the window reads a surge (its
change at the lowest threshold, half the `min_surprise`: a quiet account's surge never shows in
one hour), so a surge that lasts is never taken as the new normal. Both apply once the key has
30 calls of history beyond the prior's weight or a day of it (before, every hour is learned,
so an account whose share differs from the prior learns its own).

With ``nowcast: true`` the window is judged as it will read once its calls have ended. Calls
are counted by their start but arrive at their end, so a window's newest minutes hold the
quick calls (unanswered, failed) before the long ones that started with them: an account in
its morning ramp-up, whose window is mostly those minutes, reads far above its usual share
while nothing is wrong. The key learns how long each kind of call lasts (`Durations`, six
floats) and the share is fitted allowing for the calls still in progress
(`windows.durations.nowcast`); the surprise counts only the ended calls the evidence is worth.
The raw share is computed first and the fit only when the raw share could emit, so ordinary
windows cost no more.

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
from detector.windows.buckets import NEWEST
from detector.windows.clock import LocalHours
from detector.windows.durations import Durations, nowcast
from detector.windows.positional import Positional
from detector.windows.surprise import binomial_surprise
from detector.windows.usual import UsualShare

LEARN_LIMIT = 0.5
"""An hour is not learned when its own surprise reaches this share of `min_surprise`."""
LEARN_AFTER = 30.0
LEARN_AFTER_S = 86400
"""Suspicious hours are left out once the key has `LEARN_AFTER` calls of history beyond the
prior's weight, or a day of it: a quiet key's decayed history (a few calls a day) never holds
that many calls, and it learned every surge of its own as its new normal."""


@dataclass(slots=True)
class Share(Positional):
    """The window (population and part) and the key's usual share (pickled by position)."""

    window: Buckets = field(default_factory=Buckets)
    usual: UsualShare = field(default_factory=UsualShare)
    since: int = -1
    """The start of the key's first call (epoch s), for `warmup`."""
    quick: Durations | None = None
    """How long the part's calls last (with `nowcast`)."""
    slow: Durations | None = None
    """How long the other calls last (with `nowcast`)."""

    def _named(self, named: dict[str, object]) -> None:
        """Unpickle the named form; a key saved before `since` existed is past any warm-up,
        and one saved before durations were learned starts learning them."""
        Positional._named(self, named)
        if "since" not in named:
            self.since = 0


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
        self.nowcast = spec.nowcast
        self.prior_mass = self.prior * self.prior_weight
        """The prior's calls in the part (`UsualShare.share`'s numerator before history)."""

    def new_key(self) -> Share:
        """No window, no history: the prior alone (`nowcast` adds durations on the first call)."""
        return Share()

    def observe(self, facts: Facts, matched: bool, data: Share) -> Reading | None:
        """Count the CDR in the window and the open hour; judge the window against history.

        The in-order case (the CDR lands in the newest bucket) reads the window's share
        without a `Ratio.read` reading of its own, and the hour is counted in place
        (`UsualShare.add`, whose roll has just been done): this runs per CDR and shift rule.
        A window below the lowest threshold is read here (`judge`'s first step, inlined:
        nearly every window is one); the others go through `judge` or `_settle`.
        """
        if not matched:
            return None
        t = facts.t
        part = 1.0 if self.where(facts) else 0.0
        usual, window = data.usual, data.window
        hour = t // 3600
        if hour > usual.hour:
            usual.roll(hour, self._learnable(usual, window, t, t - data.since))
        if hour == usual.hour:  # a past hour is ignored, as `UsualShare.add` does
            usual.open_part += part
            usual.open_population += 1.0
        ratio = self.ratio
        done = window.add(t // ratio.width, part, ratio.span, 1.0, ratio.keep)
        if data.since < 0:
            data.since = t
        if self.nowcast:
            self._learn(facts, part, data)
        if done == NEWEST:
            volume = window.count
            share, at = window.total / volume, None
        else:
            late = ratio.late(done, facts, window)
            if late is None:
                return None
            share, volume, at = late.value, late.volume, late.at
        if t - data.since < self.warmup_s:
            return None
        usual_share = (usual.part + self.prior_mass) / (usual.population + self.prior_weight)
        change = self.change(share, usual_share) if self.odds else share - usual_share
        if change < self.level:
            return Reading(change, volume, "", at, usual_share)
        if self.nowcast:
            return self._settle(share, volume, at, facts, data)
        return self.judge(share, volume, at, usual)

    def _learn(self, facts: Facts, part: float, data: Share) -> None:
        """Learn how long this kind of call lasts (from the key's first call, or from now for a
        key saved without durations)."""
        if data.quick is None or data.slow is None:
            data.quick, data.slow = Durations(), Durations()
        (data.quick if part else data.slow).add(facts.end - facts.t)

    def _settle(
        self, share: float, volume: float, at: int | None, facts: Facts, data: Share
    ) -> Reading:
        """Judge the window read (`share` of `volume` calls, read at `at`) as it will read once
        its calls in progress have ended (`windows.durations.nowcast`, now being the arriving
        call's end): its share, and the ended calls its evidence is worth for the surprise (the
        volume floor still counts the calls seen). Only a window that would emit as read is
        fitted: for the no-answer and failure shares the calls in progress are the slow kind, so
        the fit only lowers the share and the evidence, and the plain reading's verdict stands
        for every other window (the fit on every window over the threshold cost a third of the
        pack's throughput)."""
        plain = self.judge(share, volume, at, data.usual)
        quick, slow = data.quick, data.slow
        if quick is None or slow is None or plain.value < self.level:
            return plain
        usual = data.usual.share(self.prior, self.prior_weight)
        width = self.ratio.width
        end = (facts.t if at is None else at) // width
        cells = data.window.window_at(end, self.ratio.span)
        settled, worth = nowcast(cells, width, facts.end, usual, quick, slow)
        return self.judge(settled, volume, at, data.usual, worth)

    def judge(
        self,
        share: float,
        volume: float,
        at: int | None,
        usual: UsualShare,
        worth: float | None = None,
    ) -> Reading:
        """The reading of a window's `share` of `volume` calls (read at `at`): its change from
        the usual share (0 unless surprising), usual as expected; `worth` is how many ended
        calls the window's evidence is worth (its volume if None)."""
        usual_share = (usual.part + self.prior_mass) / (usual.population + self.prior_weight)
        change = self.change(share, usual_share)
        if change < self.level:
            return Reading(change, volume, "", at, usual_share)
        weight = usual.weight(self.prior_weight, self.max_weight)
        n = volume if worth is None else worth
        if binomial_surprise(share * n, n, usual_share, weight) < self.min_surprise:
            return Reading(0.0, volume, "", at, usual_share)
        note = f"{share:.0%} against a usual {usual_share:.0%}"
        return Reading(change, volume, note, at, usual_share)

    def change(self, share: float, usual: float) -> float:
        """The window's share against the usual one: points above it, or the odds ratio."""
        if not self.odds:
            return share - usual
        if share >= 1.0:
            return math.inf
        return (share / (1.0 - share)) / (usual / (1.0 - usual))

    def _learnable(self, usual: UsualShare, window: Buckets, now: int, age: int) -> bool:
        """Whether the hour closing now may join the baseline: neither it nor the rule's window
        was suspicious, or the key (seen for `age` seconds) has too little history for anything
        to be suspicious yet (else an account whose share differs from the prior would never
        learn its own; see `LEARN_AFTER_S`). A quiet account's surge shows only over the rule's
        window (three calls an hour, all unanswered, are no evidence), so its hours are also
        held out while the window reads a surge: the window's change reaches the lowest
        threshold and its surprise half of `min_surprise`."""
        n = usual.open_population
        young = usual.population < self.prior_weight + LEARN_AFTER and age < LEARN_AFTER_S
        if n <= 0.0 or young:
            return True
        p = usual.share(self.prior, self.prior_weight)
        weight = usual.weight(self.prior_weight, self.max_weight)
        limit = LEARN_LIMIT * self.min_surprise
        if binomial_surprise(usual.open_part, n, p, weight) >= limit:
            return False
        calls = window.count
        if calls <= 0.0 or window.head <= now // self.ratio.width - self.ratio.span:
            return True  # no window, or one that ended before this call's
        share = window.total / calls
        if self.change(share, p) < self.level:
            return True
        return binomial_surprise(window.total, calls, p, weight) < limit

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
