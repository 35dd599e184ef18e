"""A key's usual share of something (no-answer calls among ringing calls, say), from history.

The share is learned per completed hour with exponential forgetting (`memory` hours): an
hour's part and population are added to the running sums once the hour is over, so the window
being judged is never part of its own baseline, and an hour the owner judged suspicious can be
left out (`fold(..., learn=False)`), so a surge is not learned as the new normal.

Before an account has history, a *prior* stands in: the usual share of similar accounts,
worth `prior_weight` calls. As history accumulates it outweighs the prior; the *weight* (how
many calls the usual share is worth) grows with it up to a cap, because a share learned from
thousands of calls still varies from hour to hour more than a binomial law says (see
`surprise.binomial_surprise`).

>>> u = UsualShare()
>>> for hour in range(3):
...     u.add(hour, part=3.0, n=10.0)        # 30 % in each of three hours
>>> u.roll(3); round(u.share(0.5, 10.0), 3)   # hour 2 folds in when hour 3 begins
0.351
>>> round(u.weight(10.0, 1000.0), 1)
39.6
"""

from __future__ import annotations

from dataclasses import dataclass

from detector.windows.positional import Positional

MEMORY_H = 72.0
"""Hours of history that carry weight 1/e: recent enough to follow a changing account, long
enough that one odd day does not become its normal."""


@dataclass(slots=True)
class UsualShare(Positional):
    """Decayed sums of a part and its population over completed hours, plus the hour open now
    (pickled by position: a key of every shift rule holds one)."""

    part: float = 0.0
    population: float = 0.0
    hour: int = -1
    """The hour being collected (hours since the epoch); -1 before anything was seen."""
    open_part: float = 0.0
    open_population: float = 0.0

    def add(self, hour: int, part: float, n: float = 1.0) -> None:
        """Count `n` events, `part` of them in the part, in `hour` (a past hour is ignored:
        its share was already folded, and a baseline needs no late corrections)."""
        if hour > self.hour:
            self.roll(hour)
        if hour == self.hour:
            self.open_part += part
            self.open_population += n

    def roll(self, hour: int, learn: bool = True) -> None:
        """Close the open hour (folding it in when `learn`) and open `hour`."""
        if hour <= self.hour:
            return
        if self.hour >= 0:
            self.fold(hour - self.hour, learn)
        self.hour = hour
        self.open_part = self.open_population = 0.0

    def fold(self, hours: int, learn: bool = True) -> None:
        """Decay the sums by `hours` of forgetting and add the open hour when `learn`."""
        decay = (1.0 - 1.0 / MEMORY_H) ** hours
        self.part *= decay
        self.population *= decay
        if learn:
            self.part += self.open_part
            self.population += self.open_population
        self.open_part = self.open_population = 0.0

    def share(self, prior: float, prior_weight: float) -> float:
        """The usual share: history blended with the prior (`prior_weight` calls' worth)."""
        return (self.part + prior * prior_weight) / (self.population + prior_weight)

    def weight(self, prior_weight: float, cap: float) -> float:
        """How many calls the usual share is worth: history plus prior, at most `cap`."""
        return min(self.population + prior_weight, cap)
