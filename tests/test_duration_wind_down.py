"""Duration rules on the `end` clock when an account winds down: the long calls end last."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from detector.domain import Finding
from detector.rules.kinds.outlier import Tail
from detector.rules.testing import make_cdr
from tests.pack_rule import pack_findings

MONDAY = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)  # 10:00 Monday in Asia/Kolkata
DAY_S = 86400
OPEN_S = 10 * 3600
"""The account calls from 10:00 to 20:00 local, every 3 s."""
MEDIAN_S, SIGMA = 200.0, 1.5
"""Talk time: lognormal with a heavy tail (a wholesale account's), capped at 3 h."""


def day_of_calls(day: int, sigma: float = SIGMA) -> list[tuple[int, float]]:
    """(start offset s, talk s) of one day's ordinary calls, the same every run."""
    rng = random.Random(day)
    return [
        (day * DAY_S + i * 3, min(rng.lognormvariate(math.log(MEDIAN_S), sigma), 10800.0))
        for i in range(OPEN_S // 3)
    ]


def burst(day: int, calls: int = 20) -> list[tuple[int, float]]:
    """Extra 3.6-hour calls started evenly over the day's last two hours (a takeover)."""
    return [(day * DAY_S + OPEN_S - 7200 + i * 7200 // calls, 13000.0) for i in range(calls)]


def busy_day(day: int) -> list[tuple[int, float]]:
    """(start offset s, talk s) of a day twice as busy as usual (a call every 1.5 s) that
    closes an hour later."""
    rng = random.Random(day)
    return [
        (day * DAY_S + i * 3 // 2, min(rng.lognormvariate(math.log(MEDIAN_S), SIGMA), 10800.0))
        for i in range((OPEN_S + 3600) * 2 // 3)
    ]


def findings(rule_id: str, calls: list[tuple[int, float]]) -> list[Finding]:
    """Feed the calls, in the order their CDRs arrive (by end), through a pack rule."""
    cdrs = [
        make_cdr(MONDAY + timedelta(seconds=start), f"c{n}", {"talk_s": talk, "ring_s": 0})
        for n, (start, talk) in enumerate(calls)
    ]
    return pack_findings(rule_id, cdrs)


def evening(found: list[Finding], day: int) -> list[Finding]:
    """Findings from the day's closing time to the next morning."""
    begin = MONDAY + timedelta(seconds=day * DAY_S + OPEN_S)
    return [f for f in found if begin <= f.at < begin + timedelta(hours=14)]


@pytest.mark.parametrize("rule_id", ["duration-long-calls", "duration-talk-spike"])
def test_the_long_calls_ending_after_closing_time_are_not_a_spike(rule_id: str) -> None:
    """From its second evening on, the long calls an account's day leaves running are the usual
    for that hour: only they end after closing time, yet no rule fires on them."""
    calls = [c for day in range(4) for c in day_of_calls(day)]
    found = findings(rule_id, calls)
    assert [f.at for day in (1, 2, 3) for f in evening(found, day)] == []


def test_the_long_calls_ending_after_a_first_closing_time_are_not_a_spike() -> None:
    """On an account's first evening, before its hours have any history, the long calls its
    day leaves running are expected from the calls that started before the window, so they
    raise nothing (the share of the few calls still ending made them look ten times usual)."""
    assert evening(findings("duration-long-calls", day_of_calls(0)), 0) == []


def test_a_burst_after_a_first_closing_time_still_fires() -> None:
    """Forty extra 3.6-hour calls ending on an account's first evening (about four times the
    long calls that end then) fire, though that evening is judged against its starts."""
    calls = day_of_calls(0) + [(OPEN_S - 7200 + i * 180, 13000.0) for i in range(40)]
    assert evening(findings("duration-long-calls", calls), 0)


@pytest.mark.parametrize(
    ("rule_id", "extra"), [("duration-long-calls", 40), ("duration-talk-spike", 20)]
)
def test_a_burst_of_long_calls_after_closing_time_still_fires(rule_id: str, extra: int) -> None:
    """Extra 3.6-hour calls ending after closing time on the fourth day fire: forty (about three
    times the long calls that end then, the warning of a count of long calls) and twenty for
    the talk time."""
    calls = [c for day in range(4) for c in day_of_calls(day)] + burst(3, extra)
    assert evening(findings(rule_id, calls), 3)


def test_a_busier_days_evening_is_not_a_spike() -> None:
    """A day twice as busy as usual that closes an hour later leaves more long calls ending in
    its evening, hours whose usual is to hold few: the window is judged against each hour it
    covers, not the last hour's usual times its length, so it raises nothing."""
    calls = [c for day in range(3) for c in day_of_calls(day)] + busy_day(3)
    assert findings("duration-long-calls", calls) == []


def test_a_limit_that_steps_past_a_pile_up_at_the_cap_raises_nothing() -> None:
    """When 1 % of calls pile up at the 3-hour cap, right at the 99th percentile, the limit
    steps past the cap and back as history grows; calls counted against the lower limit are
    weighed with that limit's share, so two ordinary days raise nothing."""
    calls = [c for day in range(2) for c in day_of_calls(day, sigma=1.72)]
    assert findings("duration-long-calls", calls) == []


def test_outlier_state_saved_before_the_hourly_count_still_loads() -> None:
    """A key pickled without the outliers per hour or the window's shares loads with both
    empty."""
    tail = Tail(since=42)
    saved = {
        name: getattr(tail, name) for name in Tail.__slots__ if name not in ("usual", "shares")
    }
    loaded = Tail.__new__(Tail)
    loaded.__setstate__((None, saved))
    assert (loaded.since, loaded.usual.hours_seen, loaded.shares.count) == (42, 0, 0.0)


def test_outlier_state_saved_before_the_starts_were_counted_still_loads() -> None:
    """A key pickled by position before it counted its calls' starts loads with none and keeps
    the rest of its state."""
    tail = Tail(since=42, limit=50, starts={1: 3})
    old = tail.__getstate__()[: Tail.__slots__.index("starts")]
    loaded = Tail.__new__(Tail)
    loaded.__setstate__(old)
    assert (loaded.since, loaded.limit, loaded.starts) == (42, 50, {})


def quiet_days(days: int) -> list[tuple[int, float]]:
    """(start offset s, talk s) of a quiet office: 20 calls a day, one every 30 minutes."""
    rng = random.Random(7)
    return [
        (day * DAY_S + i * 1800, rng.lognormvariate(math.log(90.0), 1.0))
        for day in range(days)
        for i in range(20)
    ]


def hour_long(day: int) -> list[tuple[int, float]]:
    """Eight hour-long calls, one every 10 minutes from the day's sixth hour."""
    return [(day * DAY_S + 6 * 3600 + i * 600, 3600.0) for i in range(8)]


def test_a_quiet_accounts_first_burst_is_not_learned_as_its_usual() -> None:
    """An account too quiet to have its own 99th percentile yet is judged from its median, and
    the burst it sees then is left out of its history: the same burst two days later, once the
    learned limit has taken over, fires again."""
    calls = sorted(quiet_days(4) + hour_long(0) + hour_long(2))
    found = findings("duration-long-calls", calls)
    days = {(f.at - MONDAY).days for f in found}
    assert days == {0, 2}


def young_day(calls: int) -> list[tuple[int, float]]:
    """(start offset s, talk s) of a first day of `calls` ordinary calls (90 s median)."""
    rng = random.Random(11)
    step = DAY_S // calls
    return [(i * step, rng.lognormvariate(math.log(90.0), 1.0)) for i in range(calls)]


def test_a_young_accounts_first_long_call_does_not_lift_its_limit_past_the_run() -> None:
    """After a day of 83 calls, twenty hour-long calls fire: the limit is recomputed when the
    run's first call is learned (the 84th value), and a 99th percentile of 84 calls is their
    longest, but it may rise only a doubling, or to 32 times the median, so the run stays
    beyond it."""
    run = [(DAY_S + 6 * 3600 + i * 180, 3600.0) for i in range(20)]
    found = findings("duration-long-calls", sorted(young_day(83) + run))
    assert {(f.at - MONDAY).days for f in found} == {1}
