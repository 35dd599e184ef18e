"""`flatline` judges each local hour of a silence on its own: spread-out misses add up faster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detector.domain import Finding
from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of

MONDAY = datetime(2026, 1, 4, 18, 30, tzinfo=UTC)  # Monday 00:00 in Asia/Kolkata, the rules' zone
RULE = {"id": "quiet", "kind": "flatline", "window": "10m", "warmup": "1d",
        "min_surprise": 7.5, "dispersion": 10, "spell_dispersion": 100,
        "thresholds": {"warning": 15}}  # fmt: skip
INBOUND = {"direction": "inbound"}


def first_alert(every_s: int, silent_hours: int) -> Finding | None:
    """Three days of one inbound call every `every_s` seconds around the clock, ticking every
    minute as the live path does, then silence from the next local midnight: the first alert
    within `silent_hours`."""
    engine = RuleEngine(ruleset_of(RULE))
    state = engine.new_state()
    for minute in range(3 * 24 * 60):
        at = MONDAY + timedelta(minutes=minute)
        if minute * 60 % every_s == 0:
            engine.observe(make_cdr(at, f"c{minute}", INBOUND), state)
        engine.advance("MA_test", at + timedelta(seconds=30), state)
    quiet = MONDAY + timedelta(days=3)
    for minute in range(silent_hours * 60):
        found = engine.advance("MA_test", quiet + timedelta(minutes=minute, seconds=30), state)
        if found:
            return found[0]
    return None


def test_a_silence_over_quiet_hours_is_flagged_after_fewer_missed_calls_than_in_one_busy_hour() -> (
    None
):
    """An account of three calls an hour is flagged after about twenty missed calls spread over
    its quiet hours (each hour's swing is its own), while one of a call a minute must miss more
    than forty within its busy hour (that hour may simply run slow): one swing for the whole
    silence would have needed the same count of both."""
    small = first_alert(every_s=1200, silent_hours=12)
    busy = first_alert(every_s=60, silent_hours=2)
    assert small is not None
    assert busy is not None
    assert 15.0 <= small.value < 30.0
    assert busy.value > 40.0
    assert busy.at - (MONDAY + timedelta(days=3)) < timedelta(hours=1)
