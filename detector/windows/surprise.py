"""How surprising a count is against what a key usually does: tail bounds that suit counts.

A fixed threshold ("150 short calls an hour") means something different to a 30-call-a-day
office and a 50,000-call voicebot; a z-score treats 3 calls and 3,000 calls alike. These
functions instead bound the probability that ordinary traffic gives a value at least as extreme,
and report it as a *surprise*: ``-log10`` of that bound (6 means "one in a million windows").
Because the tail of a count shrinks with its volume, the same surprise asks a small account for a
large relative change and a big one for a smaller relative change, with the same false-alert
rate for both, which is what `DETECTION.md` ("Generalisation") asks of every relative rule.

Each tail is the Chernoff bound ``P(X >= x) <= exp(-n * KL)`` (O(1): a few logs) sharpened
by its Bahadur-Rao factor, ``1 / (sqrt(2 pi var) * (1 - r))``, where that makes it smaller:
the bound alone overstates a 20-call tail about thirtyfold, which would ask small accounts
for more evidence than big ones at the same false-alert rate; with the factor the tail is
close to the exact one in the far tail, where alerts live.

Real traffic varies more than a Poisson or binomial law says (campaigns, day-to-day swings,
the baseline's own estimation error). Each function therefore takes a *dispersion*: the
variance is inflated by a design effect ``phi`` and the evidence is divided by it, which is the
gamma-Poisson (negative binomial) and beta-binomial correction in Chernoff form:

- counts: ``phi = 1 + expected / size``, where `size` is the negative binomial's shape (a
  size of 20 says an hour's count varies by at least ~1/sqrt(20) = 22 % beyond chance);
- shares: ``phi = 1 + (n - 1) / (weight + 1)``, where `weight` is how many calls the usual
  share is worth (its history, capped: a share known from 50 calls cannot judge 5,000).

So for a huge account the surprise saturates at the level the dispersion allows and the
rule's effect-size threshold (a factor, or points of share) decides, while for a small account
the evidence decides.

>>> round(poisson_surprise(40, 3.0), 1)          # 40 calls where 3 are usual (exact: 30.1)
30.1
>>> round(poisson_surprise(4000, 3000.0), 1)     # +33 % on a huge account, pure Poisson
67.1
>>> round(poisson_surprise(4000, 3000.0, size=20.0), 1)  # ... with realistic dispersion
0.9
>>> round(binomial_surprise(13, 14, 0.3), 1)     # 13 of 14 unanswered, 30 % usual (exact 5.8)
5.8
>>> round(binomial_surprise(600, 1000, 0.3, weight=50.0), 1)  # 60 % on a big account
4.8
>>> round(silence_surprise(20.0), 1), round(silence_surprise(20.0, size=5.0), 1)
(8.7, 3.5)
"""

from __future__ import annotations

import math

LN10 = math.log(10.0)


def _poisson_exponent(x: float, expected: float) -> float:
    """``expected * h(x / expected)`` with ``h(u) = u ln u - u + 1``: the Chernoff exponent
    of a Poisson tail at `x` (0 at the mean)."""
    if x <= 0.0:
        return expected
    return x * math.log(x / expected) - x + expected


def poisson_surprise(x: float, expected: float, size: float = math.inf) -> float:
    """``-log10`` of ``P(X >= x)`` for a count whose mean is `expected`, with negative
    binomial shape `size` (inf: Poisson); 0 when `x` is not above `expected`.

    >>> poisson_surprise(2, 3.0), round(poisson_surprise(10, 1.0), 2)
    (0.0, 6.94)
    """
    if x <= expected or expected <= 0.0:
        return math.inf if expected <= 0.0 < x else 0.0
    phi = 1.0 + expected / size
    x_eff = x / phi
    exponent = _poisson_exponent(x, expected) / phi
    refine = 0.5 * math.log(2.0 * math.pi * x_eff) + math.log(1.0 - expected / x)
    return (exponent + max(refine, 0.0)) / LN10


def silence_surprise(expected: float, observed: float = 0.0, size: float = math.inf) -> float:
    """``-log10`` of a bound on ``P(X <= observed)`` for a count whose mean is `expected`
    (a flatline): how unlikely this little traffic is; 0 when `observed` is not below it.

    >>> round(silence_surprise(10.0), 2), silence_surprise(2.0, observed=3.0)
    (4.34, 0.0)
    """
    if observed >= expected:
        return 0.0
    if math.isinf(size):
        return _poisson_exponent(observed, expected) / LN10
    # Negative binomial: P(0) = (1 + m/size)^-size exactly; beyond 0 the Poisson exponent is
    # deflated by the same design effect as the upper tail.
    if observed <= 0.0:
        return size * math.log1p(expected / size) / LN10
    phi = 1.0 + expected / size
    return _poisson_exponent(observed, expected) / (phi * LN10)


def binomial_surprise(x: float, n: float, p: float, weight: float = math.inf) -> float:
    """``-log10`` of ``P(X >= x)`` for `x` of `n` calls where the usual share is
    `p`, known from `weight` calls' worth of history (inf: exactly); 0 when ``x/n <= p``.

    >>> round(binomial_surprise(9, 10, 0.1), 2), binomial_surprise(1, 10, 0.1)
    (8.0, 0.0)
    >>> binomial_surprise(11, 117, math.nextafter(11 / 117, 0.0)) < 1e-12  # a share a hair under
    True
    """
    if n <= 0.0:
        return 0.0
    q = x / n
    if q <= p:
        return 0.0
    if p <= 0.0:
        return math.inf
    phi = 1.0 + max(n - 1.0, 0.0) / (weight + 1.0)
    n_eff = n / phi
    exponent = n_eff * _kl(q, p)
    refine = 0.0
    shrink = 1.0 - p * (1.0 - q) / (q * (1.0 - p))  # rounds to 0 when p is a hair under q
    if q < 1.0 and shrink > 0.0:
        refine = 0.5 * math.log(2.0 * math.pi * n_eff * q * (1.0 - q)) + math.log(shrink)
    return (exponent + max(refine, 0.0)) / LN10


def _kl(q: float, p: float) -> float:
    """Kullback-Leibler divergence of Bernoulli(q) from Bernoulli(p), 0 < p < 1."""
    total = q * math.log(q / p) if q > 0.0 else 0.0
    if q < 1.0:
        total += (1.0 - q) * math.log((1.0 - q) / (1.0 - p)) if p < 1.0 else math.inf
    return total
