"""`duration-talk-spike` on a quiet office: one very long call is not a spike of talk time."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import yaml

from detector.domain import Finding
from detector.rules.fields import Facts, Locale
from detector.rules.kinds.base import KindContext
from detector.rules.kinds.spike import Spike, Trend
from detector.rules.testing import make_cdr, ruleset_of
from detector.windows.clock import LocalHours
from tests.pack_rule import RULES, pack_findings

MONDAY = datetime(2026, 1, 5, 3, 30, tzinfo=UTC)  # 09:00 Monday in Asia/Kolkata
DAY_S = 86400


def office(days: int) -> list[tuple[int, float]]:
    """(start offset s, talk s) of a 64-call-a-day office: a call every 9 minutes from 09:00
    for about 9.5 hours, lognormal talk (median 70 s, mean about 115 s)."""
    rng = random.Random(5)
    return [
        (day * DAY_S + i * 540, rng.lognormvariate(math.log(70.0), 1.0))
        for day in range(days)
        for i in range(64)
    ]


def findings(calls: list[tuple[int, float]]) -> list[Finding]:
    """Feed the calls, by end, through the pack's `duration-talk-spike`."""
    cdrs = [
        make_cdr(MONDAY + timedelta(seconds=start), f"c{n}", {"talk_s": talk, "ring_s": 0})
        for n, (start, talk) in enumerate(sorted(calls))
    ]
    return pack_findings("duration-talk-spike", cdrs)


def test_one_two_hour_call_on_a_quiet_office_is_not_a_spike() -> None:
    """A single call of 2 h 20 min on the fourth day puts the hour's talk time twelve times
    above its usual, but without it the hour is ordinary: one long call is `duration-cap`'s to
    judge."""
    long_call = [(3 * DAY_S + 3 * 3600 + 7, 8400.0)]
    assert findings(office(4) + long_call) == []


def test_five_hour_long_calls_on_a_quiet_office_are_a_spike() -> None:
    """Five hour-long calls ending within the same hour still fire: without the longest, four
    remain."""
    burst = [(3 * DAY_S + 3 * 3600 + i * 300 + 7, 3600.0) for i in range(5)]
    assert findings(office(4) + burst)


def test_spike_state_saved_before_the_peaks_still_loads() -> None:
    """A key pickled in the named form of earlier releases loads with no peaks and its window,
    and round-trips by position."""
    trend = Trend()
    trend.window.add(7, 120.0, 12)
    named = (None, {"window": trend.window, "baseline": trend.baseline, "moments": trend.moments})
    loaded = Trend.__new__(Trend)
    loaded.__setstate__(named)
    assert (loaded.peaks, loaded.window.total) == ({}, 120.0)
    again = Trend.__new__(Trend)
    again.__setstate__(loaded.__getstate__())
    assert (again.peaks, again.window.total) == ({}, 120.0)


def test_a_spent_window_keeps_no_peaks() -> None:
    """Once a key's window has nothing left in it, a sweep drops its peaks with it, so an idle
    account's pickled state does not carry them."""
    spec = yaml.safe_load((RULES / "duration-talk-spike.yaml").read_text())
    ruleset = ruleset_of(spec)
    kind = Spike(ruleset.rules[0], KindContext(ruleset.lists, 600.0))
    trend = kind.new_key()
    cdr = make_cdr(MONDAY, "c1", {"talk_s": 300.0, "ring_s": 0})
    kind.observe(Facts(cdr, Locale(), LocalHours("UTC")), True, trend)
    assert trend.peaks
    assert kind.compact(trend, int(MONDAY.timestamp()) + 3 * 3600)
    assert trend.peaks == {}
