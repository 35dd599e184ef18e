"""How long a key's calls last, so that a window can allow for the calls still in progress.

CDRs arrive when calls end, but windows count calls by their start. In a window's newest
minutes the calls that end quickly (unanswered, failed, short) are already in, while the long
ones are still talking: the newest minutes lean toward the quick kind. An account in its
morning ramp-up has most of its window in those minutes, so its share of unanswered calls
reads far above its usual (82 % against 45 % once, 63 % when every call had ended). The fix
is a *nowcast*: each call seen is worth ``1 / P(a call of its kind started then has ended by
now)``, so the window is judged at the mix it will have once every call has ended.

`Durations` learns that chance per kind of call: a log-normal fit of ``1 + end − start``,
two decayed moments of the log and their weight (three floats). Talk times are skewed and
spread over orders of magnitude, which a log-normal follows and an exponential does not (it
puts too many calls in the first seconds). Until it has seen `MIN_CALLS` calls it says every
call has ended, which is what judging without a nowcast assumes.

>>> d = Durations()
>>> for seconds in (60, 120, 240, 120, 60, 240, 120, 60, 240, 120):
...     d.add(seconds)
>>> round(d.ended(10), 3), round(d.ended(121), 2), round(d.ended(3600), 3)
(0.0, 0.5, 1.0)
>>> Durations().ended(5)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MEMORY = 500.0
"""Calls of history that carry weight 1/e: an account's talk times change slowly."""
KEEP = 1.0 - 1.0 / MEMORY
"""The weight the history keeps at each call."""
MIN_CALLS = 5.0
"""Calls seen before the fit is used (before, every call counts as ended)."""
MIN_SPREAD = 0.1
"""Least standard deviation of the log duration: identical durations are not a step."""
ENDED_FLOOR = 1e-3
"""Least chance of having ended that a bucket holding ended calls is given."""
SIMPSON = (1.0, 4.0, 2.0, 4.0, 1.0)
"""Simpson's weights on five ages (they sum to 12; each `erfc` is twice the chance)."""
NEWTON_STEPS = 20
"""Most Newton steps of the share's fit (it starts at the window's share seen)."""
LOGIT_LIMIT = 12.0
"""Log-odds bound of the fit: a window of one kind of call has no finite fit."""


@dataclass(slots=True)
class Durations:
    """Decayed moments of ``log(1 + duration)`` over one kind of call."""

    weight: float = 0.0
    mean: float = 0.0
    square: float = 0.0

    def __getstate__(self) -> tuple[float, float, float]:
        """Three floats, without their names (a key of every account holds two of these)."""
        return self.weight, self.mean, self.square

    def __setstate__(self, state: tuple[float, float, float]) -> None:
        """Restore the three floats."""
        self.weight, self.mean, self.square = state

    def add(self, seconds: float) -> None:
        """Learn one call's duration (end − start, seconds)."""
        x = math.log1p(max(seconds, 0.0))
        self.weight = self.weight * KEEP + 1.0
        rate = 1.0 / self.weight
        self.mean += rate * (x - self.mean)
        self.square += rate * (x * x - self.square)

    def ended(self, age: float) -> float:
        """The chance that a call of this kind started `age` seconds ago has ended."""
        return _erfc(self.curve(), math.log1p(max(age, 0.0))) / 2.0

    def curve(self) -> tuple[float, float] | None:
        """The fit as (mean, 1 / (spread √2)) of the log duration; None before `MIN_CALLS`."""
        if self.weight < MIN_CALLS:
            return None
        spread = max(math.sqrt(max(self.square - self.mean * self.mean, 0.0)), MIN_SPREAD)
        return self.mean, 1.0 / (spread * math.sqrt(2.0))


def nowcast(
    cells: Mapping[int, Sequence[float]],
    width: int,
    now: int,
    usual: float,
    quick: Durations,
    slow: Durations,
) -> tuple[float, float]:
    """The window's share as if every call in it had ended, and the ended calls it is worth.

    `cells` maps a bucket (start ``bucket * width``) to its calls and part; the part's calls
    last as `quick` says, the rest as `slow`. A bucket holds those of its calls that have
    ended, so at a share ``p`` its part is a binomial draw with ``logit q = logit p + log(a/c)``
    (``a``, ``c``: the chance that a part / other call started then has ended): a logistic
    model with one unknown, fitted by Newton's method. The share is that fit; the worth is
    the information the buckets carry at the `usual` share over what one ended call carries,
    so buckets whose long calls are still talking weigh little, and a window whose calls
    have all ended reads exactly as before (its share and its volume).

    >>> quick, slow = Durations(), Durations()
    >>> for seconds in (20, 30, 40) * 5:
    ...     quick.add(seconds); slow.add(10 * seconds)
    >>> cells = {0: [10.0, 5.0], 59: [8.0, 8.0]}  # an hour-old bucket, and one a minute old
    >>> share, worth = nowcast(cells, 60, 3600, 0.5, quick, slow)
    >>> round(share, 2), round(worth, 1)  # the newest bucket's answered calls are talking
    (0.5, 10.1)
    >>> nowcast(cells, 60, 10_000, 0.5, quick, slow)  # all ended: the plain share
    (0.7222222222222222, 18.0)
    """
    rows = _rows(cells, width, now, quick.curve(), slow.curve())
    worth = _information(rows, _logit(usual)) / (usual * (1.0 - usual))
    calls = sum(n for n, _, _ in rows)
    theta = _logit(sum(part for _, part, _ in rows) / calls) if calls > 0 else _logit(usual)
    exp = math.exp
    for _ in range(NEWTON_STEPS):
        score = information = 0.0
        for n, part, offset in rows:  # one pass: the score and the information share q
            q = 1.0 / (1.0 + exp(-(theta + offset)))  # `_expit`, inlined
            score += part - n * q
            information += n * q * (1.0 - q)
        if information <= 0.0:
            break
        step = min(max(score / information, -1.0), 1.0)  # damped: flat likelihoods overshoot
        theta = min(max(theta + step, -LOGIT_LIMIT), LOGIT_LIMIT)
        if abs(step) < 1e-4:
            break
    return _expit(theta), worth


def _rows(
    cells: Mapping[int, Sequence[float]],
    width: int,
    now: int,
    quick: tuple[float, float] | None,
    slow: tuple[float, float] | None,
) -> list[tuple[float, float, float]]:
    """Each bucket's calls, part and log offset ``log(a / c)``. A bucket's oldest age is the
    next bucket's youngest, so each age's two `erfc` are taken once (the fit runs on every
    window that could alert: this is most of its cost)."""
    seen: dict[float, tuple[float, float]] = {}
    rows = []
    erfc, log1p = math.erfc, math.log1p
    quick_mean, quick_scale = quick if quick is not None else (0.0, 0.0)
    slow_mean, slow_scale = slow if slow is not None else (0.0, 0.0)
    for bucket, (n, part) in cells.items():
        youngest, oldest = max(now - (bucket + 1) * width, 0), max(now - bucket * width, 0)
        step = (oldest - youngest) / 4.0
        a = c = 0.0
        for k, weight in enumerate(SIMPSON):
            age = youngest + k * step
            pair = seen.get(age)
            if pair is None:  # `_erfc` of both kinds, inlined (the hot loop of the fit)
                x = log1p(max(age, 0.0))
                pair = seen[age] = (
                    2.0 if quick is None else erfc((quick_mean - x) * quick_scale),
                    2.0 if slow is None else erfc((slow_mean - x) * slow_scale),
                )
            a += weight * pair[0]
            c += weight * pair[1]
        ended = max(a / 24.0, ENDED_FLOOR) / max(c / 24.0, ENDED_FLOOR)
        rows.append((n, part, math.log(ended)))
    return rows


def _erfc(curve: tuple[float, float] | None, x: float) -> float:
    """Twice the chance that a call of log age `x` has ended (2 without a fit: ended)."""
    if curve is None:
        return 2.0
    mean, scale = curve
    return math.erfc((mean - x) * scale)


def _information(rows: Sequence[tuple[float, float, float]], theta: float) -> float:
    """Fisher information of the buckets (calls, part, offset) about the log-odds `theta`."""
    total = 0.0
    for n, _, offset in rows:
        q = _expit(theta + offset)
        total += n * q * (1.0 - q)
    return total


def _logit(p: float) -> float:
    """Log-odds of a share, kept finite."""
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def _expit(x: float) -> float:
    """The share of log-odds `x`."""
    return 1.0 / (1.0 + math.exp(-x))
