"""duration-long-calls on an account with little history: the 99th percentile of 30 calls."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from detector.rules.testing import make_cdr
from detector.windows.histogram import LogHistogram, lower_edge
from tests.pack_rule import pack_findings

MONDAY = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)
MEDIAN_S, SIGMA = 284.0, 0.75
"""A support desk's talk time: log-normal, 99th percentile about 1,630 s."""


def quiet_history() -> list[tuple[int, float]]:
    """Thirteen calls a day for three days, the longest under 11 minutes (an unlucky sample:
    one in ten of this law's calls is longer), with 17 two-second calls on the first day."""
    rng = random.Random(7)
    calls: list[tuple[int, float]] = []
    while len(calls) < 39:
        talk = rng.lognormvariate(math.log(MEDIAN_S), SIGMA)
        if talk < 650:
            day, slot = divmod(len(calls), 13)
            calls.append((day * 86400 + slot * 2400, talk))
    return calls + [(3600 + i * 60, 2.0) for i in range(17)]


def findings(calls: list[tuple[int, float]]) -> list[str]:
    """Summaries of the pack rule's findings, the CDRs fed in the order they end."""
    cdrs = [
        make_cdr(MONDAY + timedelta(seconds=start), f"c{n}", {"talk_s": talk, "ring_s": 0})
        for n, (start, talk) in enumerate(calls)
    ]
    return [f.summary for f in pack_findings("duration-long-calls", cdrs)]


def test_ordinary_long_calls_after_an_unlucky_small_history_are_not_a_spike() -> None:
    """Five calls of 13-20 minutes in two hours, ordinary for the law but longer than any of
    the account's first 39, raise nothing: the limit of a small history comes from its body."""
    fourth_day = 3 * 86400 + 36000
    ordinary = [(fourth_day + i * 1200, 800.0 + 100 * i) for i in range(5)]
    assert findings(quiet_history() + ordinary) == []


def test_a_burst_of_two_hour_calls_on_the_same_account_still_fires() -> None:
    """Five calls of two hours in the same place do fire."""
    fourth_day = 3 * 86400 + 36000
    burst = [(fourth_day + i * 1200, 7200.0 + 60 * i) for i in range(5)]
    assert findings(quiet_history() + burst)


def test_a_robust_limit_reads_the_body_not_the_largest_values() -> None:
    """Thirty log-normal values and a flood of two-second calls: the robust 99th percentile
    lies at or past the law's (the largest value seen, here, lies far below it)."""
    history = LogHistogram()
    for _, talk in quiet_history():
        history.add(talk)
    law_p99 = MEDIAN_S * math.exp(2.326 * SIGMA)
    assert lower_edge(history.limit(0.99)) < 0.5 * law_p99
    assert lower_edge(history.robust_limit(0.99) + 1) > law_p99
