"""`flatline` on an account's first weekend: judged at the day's own pace against its weekdays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of

MONDAY = datetime(2026, 1, 4, 18, 30, tzinfo=UTC)  # Monday 00:00 in Asia/Kolkata
RULE = {"id": "quiet", "kind": "flatline", "window": "10m", "warmup": "1d", "min_surprise": 5,
        "dispersion": 10, "thresholds": {"warning": 15}}  # fmt: skip
WEEKDAY = (10 * 60, 18 * 60, 1)
"""An office day: a call a minute from 10:00 to 18:00 local."""


def alert_minutes(saturday: tuple[int, int, int]) -> list[int]:
    """Five office days, then a Saturday that calls every `saturday[2]` minutes from minute
    `saturday[0]` to `saturday[1]` of the day (local) and is silent after; the minutes of that
    Saturday (and the Sunday after it, counted on) at which the rule alerts, ticking every
    minute as the live path does."""
    engine = RuleEngine(ruleset_of(RULE))
    state = engine.new_state()
    days = (WEEKDAY,) * 5 + (saturday, (0, 0, 1))
    alerts = []
    for day, (first, last, every) in enumerate(days):
        for minute in range(24 * 60):
            at = MONDAY + timedelta(days=day, minutes=minute)
            if first <= minute < last and (minute - first) % every == 0:
                engine.observe(make_cdr(at, f"c{day}-{minute}", {}), state)
            found = engine.advance("MA_test", at + timedelta(seconds=30), state)
            if found and day >= 5:
                alerts.append((day - 5) * 24 * 60 + minute)
    return alerts


def test_a_silence_after_a_busy_first_saturday_morning_fires() -> None:
    """An office that has never worked a weekend calls every other minute on its first
    Saturday morning (10:00-12:00), then goes silent: the afternoon is judged at the
    Saturday's own pace against its weekdays' hours and flagged within two hours (the old rule
    never judged a first Saturday)."""
    alerts = alert_minutes((10 * 60, 12 * 60, 2))
    assert alerts
    assert 12 * 60 < alerts[0] < 14 * 60


def test_a_closed_offices_few_first_saturday_calls_stay_quiet() -> None:
    """The same office closed at weekends makes two calls on its first Saturday morning: the
    day runs at a few percent of its weekdays, so neither that Saturday nor the Sunday after
    it is flagged."""
    assert alert_minutes((10 * 60, 10 * 60 + 31, 30)) == []


def test_a_silence_from_friday_into_a_first_saturday_is_still_not_judged() -> None:
    """An office silent from Friday evening through its first weekend is not flagged: no call
    has said whether it works Saturdays."""
    assert alert_minutes((0, 0, 1)) == []


def test_the_friday_part_of_a_silence_is_still_judged_once_it_reaches_a_first_saturday() -> None:
    """An account busy around the clock on weekdays (a call every 10 s) goes silent twenty
    minutes before its first Saturday begins, and time is only seen to pass every half hour (a
    backtest or replay ticks once per batch of CDRs): at the first tick after midnight the
    120 calls missed on Friday are flagged, though the Saturday part is not judged (before,
    the whole silence went unjudged once it reached the Saturday)."""
    engine = RuleEngine(ruleset_of(RULE))
    state = engine.new_state()
    silent = MONDAY + timedelta(days=4, hours=23, minutes=40)
    at, found = MONDAY, []
    while at < silent:
        engine.observe(make_cdr(at, f"c{at.timestamp():.0f}", {}), state)
        at += timedelta(seconds=10)
    for half_hours in range(1, 5):
        tick = MONDAY + timedelta(days=4, hours=23, minutes=30 * half_hours, seconds=30)
        found.extend((tick, f) for f in engine.advance("MA_test", tick, state))
    assert [(tick - silent, f.value > 100) for tick, f in found][:1] == [
        (timedelta(minutes=20, seconds=30), True)
    ]


def test_a_night_of_dialling_on_a_first_saturday_is_not_expected_again_on_the_sunday() -> None:
    """An office that never calls at night dials every other minute from 01:00 to 05:00 on its
    first Saturday, then is silent: its Sunday night is not flagged, since one Saturday's
    hours count for the Sunday at most three times the weekdays' level at that hour, scaled by
    the Saturday's pace (before, the Sunday expected the 30 calls an hour of the burst)."""
    assert alert_minutes((1 * 60, 5 * 60, 2)) == []


def test_a_first_saturday_that_runs_at_its_own_level_still_backs_its_sunday() -> None:
    """An office that works its first Saturday at half its weekday pace (a call every other
    minute, 10:00-18:00) and is silent on the Sunday is flagged within three hours of the
    Sunday's opening: the Saturday's hours are within three times its pace of the weekdays'
    and are lent as they are."""
    sunday = [m - 24 * 60 for m in alert_minutes((10 * 60, 18 * 60, 2)) if m >= 24 * 60]
    assert sunday
    assert 10 * 60 < sunday[0] < 13 * 60


def test_a_first_saturday_at_a_third_of_its_pace_is_not_discounted_again_as_an_off_day() -> None:
    """An all-outbound office calls every third minute on its first Saturday morning (a third
    of its weekday pace), then goes silent at 13:00: the afternoon is judged at that third and
    flagged before 16:00. Before, the day's low pace also made it look like a day without a
    campaign, whose calls were then discounted a second time (to 15 % of that third), and the
    silence was never flagged; the same double discount hid a 27,800-call voicebot silent for
    half an hour on a Saturday that had already made 1,325 calls."""
    alerts = alert_minutes((10 * 60, 13 * 60, 3))
    assert alerts
    assert 13 * 60 < alerts[0] < 16 * 60
