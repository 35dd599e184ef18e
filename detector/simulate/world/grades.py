"""What a careful analyst would flag: the line every incident is graded against.

Written down before any detector was run on a world, from what a fraud or NOC analyst looking
at one account's CDRs would call an incident: a clear effect relative to the account's own
usual (where "usual" is how the analyst judges it) AND enough absolute evidence to act on.
Where the fraud is absolute (money lost, premium numbers, consecutive numbers, spoofed caller
ids) the line is absolute. "Usual" is the account's expected traffic in the incident's window
from its own drawn rhythm and laws (`norms.py`), before noise.

Each incident type has a *dial*: the one quantity its intensity sets. The line is the dial
value where the analyst starts to flag.

| type | dial (what the intensity sets) | the analyst flags when |
|---|---|---|
| robocall | extra short (< 6 s) answered outbound calls per hour | ≥ 3× usual, ≥ 30 extra/h |
| duration_spike | extra answered calls longer than the account's p99 talk | ≥ 3× usual, ≥ 8 extra |
| no_answer_surge | share of would-be-answered calls that ring out | +20 points, ≥ 12 extra |
| route_failure | share of calls failing with congestion-class causes | +20 points, ≥ 12 extra |
| flatline | calls the account would have made during the silence | ≥ 20 |
| wangiri | one-ring inbound calls from distinct foreign numbers | ≥ 3× usual, ≥ 20 |
| wangiri_outbound | one-ring outbound calls to distinct foreign numbers | ≥ 3× usual, ≥ 30 |
| irsf | INR spent on calls to IRSF sinks (premium, satellite, high-risk) | ≥ 3,000 |
| traffic_pumping | answered calls of 8+ min to at most 3 premium numbers | ≥ 10 |
| sequential_dialing | calls to consecutive numbers of one range | ≥ 30 |
| cli_spoofing | outbound calls with an invalid caller id or the callee's own number | ≥ 10 |

"Usual" is the account's own expected level of the same thing in the same window (short
answered calls per hour, calls past its p99, foreign one-ring calls); the share rules compare
the share of ringing calls left unanswered (or of calls failed) in the incident's direction
with the account's usual share. A flatline needs no relative part: 20 expected calls are
never 0 by chance (Poisson e^-20).

Grades compare the dial d with the line L: `clear` when d ≥ 1.5 L, `near` (just above the
line) when L ≤ d < 1.5 L, `subtle` (just below) when d < L. Each type's incidents are drawn
60 % clear (d = L × 1.6–5), 20 % near (L × 1.05–1.35) and 20 % subtle (L × 0.55–0.92), all
log-uniform; where a type's dial has a ceiling (a share cannot pass 95 %), the multiplier is
drawn below it, and an account that cannot reach the grade is not used for it. Subtle
incidents are scored apart: no recall target, and an alert on one is not a false alert.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLEAR, NEAR, SUBTLE = "clear", "near", "subtle"
GRADES = (CLEAR, NEAR, SUBTLE)
MULTIPLIERS: dict[str, tuple[float, float]] = {
    CLEAR: (1.6, 5.0),
    NEAR: (1.05, 1.35),
    SUBTLE: (0.55, 0.92),
}
CLEAR_FROM = 1.5


@dataclass(frozen=True)
class Rule:
    """One analyst rule: a relative factor over the usual and/or a share rise, and a minimum."""

    minimum: float
    """Absolute evidence: at least this much of the dial (calls, calls per hour, INR)."""
    factor: float | None = None
    """Relative: the dial must lift the usual level to at least this many times itself."""
    points: float | None = None
    """Share rules: the share must rise by at least this much (0.2 = 20 points)."""


RULES: dict[str, Rule] = {
    "robocall": Rule(minimum=30.0, factor=3.0),
    "duration_spike": Rule(minimum=8.0, factor=3.0),
    "no_answer_surge": Rule(minimum=12.0, points=0.2),
    "route_failure": Rule(minimum=12.0, points=0.2),
    "flatline": Rule(minimum=20.0),
    "wangiri": Rule(minimum=20.0, factor=3.0),
    "wangiri_outbound": Rule(minimum=30.0, factor=3.0),
    "irsf": Rule(minimum=3000.0),
    "traffic_pumping": Rule(minimum=10.0),
    "sequential_dialing": Rule(minimum=30.0),
    "cli_spoofing": Rule(minimum=10.0),
}


def count_line(kind: str, usual: float = 0.0) -> float:
    """The line of a count dial: the minimum, or enough to reach `factor` × the usual.

    >>> count_line("robocall", usual=5.0), count_line("robocall", usual=40.0)
    (30.0, 80.0)
    """
    rule = RULES[kind]
    relative = (rule.factor - 1.0) * usual if rule.factor is not None else 0.0
    return max(rule.minimum, relative)


def share_line(kind: str, usual_share: float, volume: float) -> float:
    """The line of a share dial f (a fraction of `volume` calls changes outcome).

    Moving a fraction f of the calls that are not yet in the share raises it by
    (1 − usual_share) × f points and adds f × volume calls to it; both must pass the rule.

    >>> round(share_line("no_answer_surge", usual_share=0.2, volume=100.0), 3)
    0.25
    >>> share_line("no_answer_surge", usual_share=0.2, volume=0.0)
    inf
    """
    rule = RULES[kind]
    if volume <= 0 or usual_share >= 1.0:
        return float("inf")
    points = rule.points or 0.0
    return max(points / (1.0 - usual_share), rule.minimum / volume)


def grade_of(dial: float, line: float) -> str:
    """The grade of an incident whose dial is `dial` against the line `line`.

    >>> grade_of(45, 30), grade_of(31, 30), grade_of(29, 30)
    ('clear', 'near', 'subtle')
    """
    if dial >= CLEAR_FROM * line:
        return CLEAR
    return NEAR if dial >= line else SUBTLE


def multiplier(rng: np.random.Generator, grade: str, ceiling: float) -> float | None:
    """A dial/line ratio for `grade`, log-uniform, below `ceiling`; None if it cannot fit."""
    lo, hi = MULTIPLIERS[grade]
    hi = min(hi, ceiling)
    if hi < lo:
        return None
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def grade_plan(rng: np.random.Generator, count: int) -> list[str]:
    """Grades for `count` incidents of one type: 20 % near, 20 % subtle, the rest clear.

    >>> sorted(grade_plan(np.random.default_rng(0), 5))
    ['clear', 'clear', 'clear', 'near', 'subtle']
    """
    near = subtle = round(0.2 * count)
    grades = [NEAR] * near + [SUBTLE] * subtle + [CLEAR] * (count - near - subtle)
    order = rng.permutation(len(grades))
    return [grades[int(i)] for i in order]
