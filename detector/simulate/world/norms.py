"""What is usual for one account in one window: expected counts from its drawn laws.

The analyst's "usual" (`grades.py`) is the account's expectation before noise: its rhythm's
expected calls in the window, split by direction and by how calls end with the account's own
rates. Everything is an expectation, so a grade never depends on the noise of one draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist

import numpy as np

from detector.simulate.world.accounts import WorldAccount
from detector.simulate.world.rhythm import SlotTable, expected_calls
from detector.simulate.world.traffic import LONGEST_ORDINARY_S, SHORT_S

_NORMAL = NormalDist()
ONE_RING_S = 3.0


@dataclass(frozen=True)
class Norm:
    """The account's expected traffic in [t0, t1)."""

    account: WorldAccount
    table: SlotTable
    world_start: float
    t0: float
    t1: float

    @cached_property
    def calls(self) -> float:
        """Expected attempts in the window, both directions."""
        return expected_calls(self.account.rhythm, self.table, self.world_start, self.t0, self.t1)

    @property
    def hours(self) -> float:
        """Length of the window in hours."""
        return (self.t1 - self.t0) / 3600.0

    def share(self, direction: str | None) -> float:
        """Share of the account's calls in `direction` (None or "both": all)."""
        out = self.account.outbound_share
        return {"outbound": out, "inbound": 1.0 - out}.get(direction or "both", 1.0)

    def attempts(self, direction: str | None) -> float:
        """Expected attempts in `direction`."""
        return self.calls * self.share(direction)

    def _ringing(self, direction: str) -> tuple[float, float]:
        """Expected answered and no-answer calls in one direction."""
        law = self.account.outcomes
        placed = 1.0 - law.route_failure - (law.misdial if direction == "outbound" else 0.0)
        rate = law.answer_out if direction == "outbound" else law.answer_in
        volume = self.attempts(direction) * placed
        return volume * rate, volume * (1.0 - rate) * law.unanswered[0]

    def answered(self, direction: str | None) -> float:
        """Expected answered calls in `direction`."""
        return sum(self._ringing(d)[0] for d in _directions(direction))

    def no_answer_share(self, direction: str | None) -> float:
        """Usual share of ringing calls (answered + no answer) left unanswered."""
        answered = no_answer = 0.0
        for d in _directions(direction):
            a, n = self._ringing(d)
            answered, no_answer = answered + a, no_answer + n
        total = answered + no_answer
        return no_answer / total if total > 0 else 0.0

    def short_answered_per_hour(self) -> float:
        """Usual short (< 6 s) answered outbound calls per hour."""
        return self.answered("outbound") * short_probability(self.account) / self.hours

    def long_calls(self) -> float:
        """Usual answered calls (both directions) longer than the account's p99 talk time."""
        return 0.01 * self.answered(None)

    def one_ring(self, direction: str, foreign_share: float) -> float:
        """Usual one-ring (≤ 3 s ringing, cancelled) calls with foreign parties."""
        law = self.account.outcomes
        cancel = (1.0 - self.answer_rate(direction)) * law.unanswered[2]
        within = ONE_RING_S / max(min(law.timeout_s, 25.0), ONE_RING_S)
        return self.attempts(direction) * foreign_share * cancel * within

    def answer_rate(self, direction: str) -> float:
        """The account's answer rate in one direction."""
        law = self.account.outcomes
        return law.answer_out if direction == "outbound" else law.answer_in


def _directions(direction: str | None) -> tuple[str, ...]:
    """The single directions a direction label covers."""
    if direction in ("outbound", "inbound"):
        return (direction,)
    return ("outbound", "inbound")


def short_probability(account: WorldAccount) -> float:
    """Chance that an answered call of the account ends within 6 s."""
    talk = account.talk
    z = (np.log(SHORT_S - 0.5) - np.log(talk.median_s)) / talk.sigma
    return talk.short_share + (1.0 - talk.short_share) * _NORMAL.cdf(float(z))


def p99_talk(account: WorldAccount) -> float:
    """The account's usual 99th-percentile talk time of answered calls (s)."""
    talk = account.talk
    tail = 0.01 / max(1.0 - talk.short_share, 0.02)
    z = _NORMAL.inv_cdf(min(max(1.0 - tail, 0.5), 0.999999))
    return float(min(talk.median_s * np.exp(talk.sigma * z), LONGEST_ORDINARY_S))


def tail_beyond(account: WorldAccount, threshold_s: float) -> float:
    """Chance that an answered call of the account talks longer than `threshold_s`."""
    talk = account.talk
    if threshold_s <= SHORT_S:
        return 1.0 - talk.short_share * threshold_s / SHORT_S
    z = (np.log(threshold_s) - np.log(talk.median_s)) / talk.sigma
    return (1.0 - talk.short_share) * (1.0 - _NORMAL.cdf(float(z)))
