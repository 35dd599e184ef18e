"""Count statistics: how surprising is a count against its expectation, for any account size.

A z-score with a learned standard deviation treats 3 calls against 0.1 expected and 3,000
against 2,900 alike, and one outlier inflates the deviation for weeks. Counts have their own
laws: a Poisson count with an unknown, drifting rate is negative binomial (variance
mu + w·mu²), a part of a count (international calls among outbound ones) is binomial with
extra spread (beta-binomial). Their *deviance residuals* are close to standard normal even for
expected counts well below one, so one threshold means the same for a 10-call-a-day office
and a 50,000-call voicebot: the office needs a few calls where it usually has none, the
voicebot a change far beyond its day-to-day wobble (`w`).

Only the upper tail matters here (more calls, more failures, more international calls than
usual); a count at or below its expectation scores 0. Everything is plain float arithmetic
(two logarithms per test), cheap enough to run per feature per time bucket.
"""

from __future__ import annotations

import math

_SQRT2 = math.sqrt(2.0)
_LOG10 = math.log(10.0)
_BELOW_ONE = math.nextafter(1.0, 0.0)
TINY = 1e-6
"""Smallest expected count or share used in a test (an expectation of exactly 0 would make
any count infinitely surprising)."""


def count_z(x: float, mu: float, spread: float) -> float:
    """Upper-tail deviance residual of count `x` against mean `mu`, variance mu + spread·mu².

    `spread` = 0 is Poisson; larger values are the negative binomial's 1/shape (the squared
    relative wobble of the rate). 0 when `x` is not above `mu`.

    >>> round(count_z(40, 0.75, 0.0), 1)     # 40 calls where 0.75 are usual
    15.5
    >>> round(count_z(1100, 1000, 0.0), 1)   # +10 % on a huge, perfectly regular account
    3.1
    >>> round(count_z(1100, 1000, 0.04), 1)  # ... whose rate wobbles by 20 %
    0.5
    >>> count_z(2, 3.0, 0.0)
    0.0
    """
    if x <= mu:
        return 0.0
    mu = max(mu, TINY)
    if spread <= 0.0:
        d2 = x * math.log(x / mu) - (x - mu)
    else:
        r = 1.0 / spread
        d2 = x * math.log(x / mu) - (x + r) * math.log((x + r) / (mu + r))
    return math.sqrt(2.0 * d2) if d2 > 0.0 else 0.0


def count_deviance(x: float, mu: float, spread: float) -> float:
    """Signed deviance residual of count `x` against mean `mu`, variance mu + spread·mu²:
    `count_z` on both sides of the mean (negative below it), for drift statistics.

    >>> round(count_deviance(0, 4.0, 0.0), 2), round(count_deviance(9, 4.0, 0.0), 2)
    (-2.83, 2.14)
    """
    mu = max(mu, TINY)
    if x >= mu:
        return count_z(x, mu, spread)
    if spread <= 0.0:
        d2 = (x * math.log(x / mu) if x > 0.0 else 0.0) - (x - mu)
    else:
        r = 1.0 / spread
        d2 = (x * math.log(x / mu) if x > 0.0 else 0.0) - (x + r) * math.log((x + r) / (mu + r))
    return -math.sqrt(2.0 * d2) if d2 > 0.0 else 0.0


def share_z(x: float, n: float, p: float, inflate: float) -> float:
    """Upper-tail deviance residual of `x` out of `n` against share `p`, its variance
    multiplied by `inflate` (>= 1: beta-binomial spread and the uncertainty of `p`).

    >>> round(share_z(8, 100, 0.02, 1.0), 1)  # 8 % international where 2 % is usual
    3.2
    >>> round(share_z(80, 1000, 0.02, 1.0), 1)
    10.3
    >>> round(share_z(80, 1000, 0.02, 4.0), 1)
    5.1
    >>> share_z(1, 100, 0.02, 1.0)
    0.0
    """
    expected = n * p
    if x <= expected or n <= 0.0:
        return 0.0
    p = min(max(p, TINY), 1.0 - TINY)
    d2 = x * math.log(x / expected)
    rest = n - x
    if rest > 0.0:
        d2 += rest * math.log(rest / (n - expected))
    return math.sqrt(2.0 * max(d2, 0.0) / max(inflate, 1.0))


def surprise(z: float, tests: int = 1) -> float:
    """-log10 of the upper-tail probability of a standard normal `z`, Bonferroni-corrected for
    `tests` looks (the smallest of `tests` tail probabilities is multiplied by `tests`); >= 0.

    >>> round(surprise(3.0), 2), round(surprise(5.0), 2), round(surprise(5.0, tests=8), 2)
    (2.87, 6.54, 5.64)
    >>> round(surprise(40.0), 1)   # far beyond float precision of the probability itself
    349.4
    """
    if z <= 0.0:
        return 0.0
    if z < 30.0:
        tail = 0.5 * math.erfc(z / _SQRT2)
        log10_tail = math.log10(tail)
    else:  # Mills ratio: tail ~ pdf(z) / z
        log10_tail = (-0.5 * z * z - math.log(z * math.sqrt(2.0 * math.pi))) / _LOG10
    return max(0.0, -log10_tail - math.log10(tests))


def z_of(surprise_: float) -> float:
    """The standard normal `z` whose upper tail has this surprise (inverse of `surprise` for
    one test), by bisection.

    >>> round(z_of(surprise(5.0)), 4)
    5.0
    """
    lo, hi = 0.0, 40.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if surprise(mid) < surprise_ else (lo, mid)
    return 0.5 * (lo + hi)


def plausible_swing(spread: float, z: float) -> float:
    """The largest ratio R >= 1 of a long run's count to its expectation whose deviance
    residual stays below `z` when the rate wobbles with `spread` (NB: variance mu + spread·mu²):
    for large counts the residual² tends to 2(R − 1 − ln R)/spread, solved by Newton's method.
    A whole day judged with the account's day-to-day wobble may run this far above its
    expectation before the day itself would be unusual.

    >>> round(plausible_swing(0.05, 5.3), 2), round(plausible_swing(1.0, 5.3), 1)
    (2.69, 17.9)
    """
    c = 0.5 * z * z * max(spread, 1e-6)
    ratio = 2.0 + c + math.sqrt(2.0 * c)
    for _ in range(8):
        ratio -= (ratio - 1.0 - math.log(ratio) - c) / (1.0 - 1.0 / ratio)
    return max(ratio, 1.0)


def student_z(z: float, freedom: float) -> float:
    """The Student-t value with `freedom` degrees of freedom whose upper tail is the standard
    normal tail at `z` (Wallace's approximation, within a few % from 4 degrees on): what a
    residual must reach when the spread it is scaled by was itself estimated from `freedom`
    observations (a day wobble learned from four days is no better known than that).

    >>> round(student_z(4.98, 4.0), 1), round(student_z(4.98, 30.0), 2)
    (65.4, 6.29)
    >>> student_z(4.98, 1e9) < 4.99
    True
    """
    nu, c = _wallace(freedom)
    power = min((z / c) ** 2 / nu, 50.0)  # beyond that, no day is unusual anyway
    return math.sqrt(nu * math.expm1(power))


def normal_z(t: float, freedom: float) -> float:
    """Inverse of `student_z`: the standard normal z whose tail is the Student-t tail at `t`.

    >>> round(normal_z(student_z(4.98, 4.0), 4.0), 2)
    4.98
    """
    nu, c = _wallace(freedom)
    return c * math.sqrt(nu * math.log1p(max(t, 0.0) ** 2 / nu))


def _wallace(freedom: float) -> tuple[float, float]:
    """Degrees of freedom (at least 0.5) and Wallace's factor ``(8ν + 1) / (8ν + 3)``."""
    nu = max(freedom, 0.5)
    return nu, (8.0 * nu + 1.0) / (8.0 * nu + 3.0)


def score(surprise_: float) -> float:
    """Anomaly score in [0, 1) from a surprise (-log10 p): 1 - p^(1/7).

    0 for an ordinary value, 0.5 at one in 100 (p = 0.0078), 0.9 at one in ten million;
    never 1, and distinct for every surprise below about 110, so the most unusual values
    still rank above each other.

    >>> score(0.0), round(score(2.107), 3), round(score(7.0), 3), score(500.0) < 1.0
    (0.0, 0.5, 0.9, True)
    """
    return min(1.0 - float(10.0 ** (-max(surprise_, 0.0) / 7.0)), _BELOW_ONE)


def surprise_of(score_: float) -> float:
    """Inverse of `score`: the surprise (-log10 p) of an anomaly score in [0, 1).

    >>> round(surprise_of(0.9), 6)
    7.0
    """
    return -7.0 * math.log10(max(1.0 - score_, 1e-300))
