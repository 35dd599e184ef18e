"""The pure judging helpers of the anomaly model (`detector.models.judge`)."""

from __future__ import annotations

from detector.models.judge import Usual, at_level


def usual_of(mu: float, busy: float) -> Usual:
    """A usual of `mu` expected calls, `busy` on the account's busy days (judged against)."""
    return Usual(mu, 0.1, [0.5], [10.0], [0.1], high=max(mu, busy), busy=busy)


def test_the_days_level_lifts_a_copy_and_leaves_the_given_usual_as_it_was() -> None:
    """`at_level` judges calls against the day's level in a new usual; the one it read keeps
    its own expectation, for whatever reads it next."""
    given = usual_of(2.0, 2.0)
    lifted = at_level(given, 3.0)
    assert lifted.high == 6.0
    assert (given.high, given.mu) == (2.0, 2.0)
    assert (lifted.mu, lifted.busy, lifted.spread) == (given.mu, given.busy, given.spread)


def test_the_busy_day_expectation_wins_over_a_lower_days_level() -> None:
    """An account judged against its busy days keeps that expectation when the day runs lower."""
    assert at_level(usual_of(2.0, 10.0), 3.0).high == 10.0
