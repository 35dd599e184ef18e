"""`flatline` in an account's first days: a burst seen once does not become an expected hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of

MONDAY = datetime(2026, 1, 5, 3, 30, tzinfo=UTC)  # Monday 09:00 in Asia/Kolkata, the rules' zone
RULE = {"id": "quiet", "kind": "flatline", "window": "10m", "warmup": "1d",
        "min_surprise": 7.5, "dispersion": 10, "spell_dispersion": 100,
        "thresholds": {"warning": 15}}  # fmt: skip
INBOUND = {"direction": "inbound"}
"""An office's calls come in (a dialer's may stop for a day without a campaign)."""


def calls_at(minute: int, burst: int, every: int = 5) -> int:
    """Calls in minute `minute` since Monday 09:00 local: one every `every` minutes from 09:00
    to 18:00, one an hour otherwise, and `burst` calls spread over 01:00-02:00 of the first
    night (a robocall run on top)."""
    local = minute % (24 * 60)  # minutes since 09:00
    if minute in range(16 * 60, 17 * 60):
        return burst // 60 + (minute % 60 < burst % 60)
    if local < 9 * 60:
        return int(local % every == 0)
    return int(local % 60 == 0)


def first_alert(burst: int, silent_from_h: int, silent_hours: int, every: int = 5) -> int | None:
    """Feed `calls_at` from Monday 09:00 local, ticking every minute as the live path does,
    with silence from `silent_from_h` hours after the start for `silent_hours`: the minutes
    into the silence of the first alert."""
    engine = RuleEngine(ruleset_of(RULE))
    state = engine.new_state()
    calls = 0
    for minute in range((silent_from_h + silent_hours) * 60):
        at = MONDAY + timedelta(minutes=minute)
        if minute < silent_from_h * 60:
            for _ in range(calls_at(minute, burst, every)):
                engine.observe(make_cdr(at, f"c{calls}", INBOUND), state)
                calls += 1
        elif engine.advance("MA_test", at + timedelta(seconds=30), state):
            return minute - silent_from_h * 60
        engine.advance("MA_test", at + timedelta(seconds=30), state)
    return None


@pytest.mark.parametrize("burst", [0, 120])
def test_a_first_night_burst_does_not_make_the_second_night_an_outage(burst: int) -> None:
    """A 120-call burst at 01:00-02:00 on an office's first night, then silence through its
    second night (22:00-05:00, a call an hour usually): not flagged, as without the burst;
    before, the second night expected the burst again and flagged its absence."""
    assert first_alert(burst, silent_from_h=37, silent_hours=7) is None


def test_a_second_day_outage_in_office_hours_is_still_flagged_after_a_first_night_burst() -> None:
    """The same office silent from 11:00 on its second day (12 calls an hour usually) is
    flagged within its first two and a half hours, burst or not: only the lone burst hour is
    bounded."""
    for burst in (0, 120):
        minutes = first_alert(burst, silent_from_h=26, silent_hours=3)
        assert minutes is not None
        assert minutes < 150


def test_a_busy_offices_first_night_burst_is_not_expected_at_its_mean_hour() -> None:
    """An office that takes a call a minute from 09:00 to 18:00 (its mean hour ~23 calls) has
    a 120-call burst on its first night, then a silent second night: not flagged. Before, the
    burst hour was bounded only by the mean hour, so the second night expected ~23 calls at
    01:00 where one is usual; it is now bounded by three times the hours around it or a third
    of the mean hour."""
    assert first_alert(0, silent_from_h=37, silent_hours=7, every=1) is None
    assert first_alert(120, silent_from_h=37, silent_hours=7, every=1) is None
