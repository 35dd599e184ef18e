"""`flatline` on accounts with off-days: a dialer's usual quiet day is not an outage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of

MONDAY = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)  # 10:00 Monday in Asia/Kolkata
RULE = {"id": "quiet", "kind": "flatline", "window": "10m", "warmup": "1d", "min_surprise": 5,
        "dispersion": 10, "thresholds": {"warning": 15}}  # fmt: skip
DIALER = ("on", "off", "on", "on", "off", "on", "on")
STEADY = ("on",) * 7


def first_alert(days: tuple[str, ...], per_minute: int, silent_minutes: int) -> int | None:
    """Feed `days` of 10:00-18:00 India time (on: `per_minute` calls a minute, all in the same
    second; off: a twentieth of that), ticking every minute as the live path does, then
    nothing on the next Monday; the minute after 10:00 that Monday of the first alert."""
    engine = RuleEngine(ruleset_of(RULE))
    state = engine.new_state()
    calls = 0
    for day, kind in enumerate(days):
        for minute in range(24 * 60):
            at = MONDAY + timedelta(days=day, minutes=minute)
            busy = minute < 8 * 60 and (kind == "on" or minute % 20 == 0)
            for _ in range(per_minute if busy else 0):
                engine.observe(make_cdr(at, f"c{calls}", {}), state)
                calls += 1
            engine.advance("MA_test", at + timedelta(seconds=30), state)
    monday = MONDAY + timedelta(days=len(days))
    for minute in range(silent_minutes):
        if engine.advance("MA_test", monday + timedelta(minutes=minute, seconds=30), state):
            return minute
    return None


@pytest.mark.parametrize("per_minute", [1, 10])
def test_a_dialers_usual_off_day_is_not_an_outage_but_a_steady_accounts_is(
    per_minute: int,
) -> None:
    """Two off-days in a week (a twentieth of the calls): the dialer's silence through the next
    Monday's first ~110 usual calls is not flagged, the same silence of an account that calls
    every day is, at one and at ten calls a minute (ten in the same second)."""
    minutes = 110 // per_minute
    assert first_alert(DIALER, per_minute, minutes) is None
    assert first_alert(STEADY, per_minute, minutes) is not None


def silence_alerts(morning_every: int, silent_hours: int) -> bool:
    """Three days of one inbound call a minute around the clock (a call centre), then a day
    whose first six hours bring one call every `morning_every` minutes, then silence: whether
    the rule alerts within `silent_hours` of it."""
    engine = RuleEngine(ruleset_of(RULE))
    state = engine.new_state()
    start = MONDAY.replace(hour=18, minute=30)  # local midnight in Asia/Kolkata
    inbound = {"direction": "inbound"}
    for minute in range(3 * 24 * 60 + 6 * 60):
        at = start + timedelta(minutes=minute)
        if minute < 3 * 24 * 60 or minute % morning_every == 0:
            engine.observe(make_cdr(at, f"c{minute}", inbound), state)
        engine.advance("MA_test", at + timedelta(seconds=30), state)
    quiet = start + timedelta(days=3, hours=6)
    return any(
        engine.advance("MA_test", quiet + timedelta(minutes=m, seconds=30), state)
        for m in range(silent_hours * 60)
    )


def test_a_silence_on_a_quiet_day_is_judged_at_that_days_own_pace() -> None:
    """A call centre whose day starts at a twentieth of its usual traffic (a holiday) and then
    falls silent for three hours is not flagged: it is judged at the day's own pace, not at the
    pace of the busy hours before midnight. The same silence after a normal morning is."""
    assert not silence_alerts(morning_every=20, silent_hours=3)
    assert silence_alerts(morning_every=1, silent_hours=3)


SHIPPED = {**RULE, "min_surprise": 7.5, "spell_dispersion": 100}
"""The shipped rule's surprise settings (`rules/flatline.yaml`)."""


def silent_morning_alert(inbound_every: int, per_slot: int = 1) -> tuple[int, int] | None:
    """Four office days (10:00-18:00 India time, `per_slot` calls spread over every 10 minutes,
    every `inbound_every`-th of them inbound, the rest outbound), then a fifth day silent from
    its start until 16:00 (36 x `per_slot` calls expected by then): the day and local minute
    of the first alert."""
    engine = RuleEngine(ruleset_of(SHIPPED))
    state = engine.new_state()
    start = MONDAY.replace(hour=18, minute=30) - timedelta(days=1)  # local midnight, Monday
    calls = 0
    for minute in range(4 * 24 * 60 + 16 * 60):
        at = start + timedelta(minutes=minute)
        day, local = divmod(minute, 24 * 60)
        if day < 4 and 10 * 60 <= local < 18 * 60 and local % 10 == 0:
            for k in range(per_slot):
                inbound = (calls + 1) % inbound_every == 0
                fields = {"direction": "inbound" if inbound else "outbound"}
                engine.observe(make_cdr(at + timedelta(seconds=600 * k // per_slot),
                                        f"c{calls}", fields), state)  # fmt: skip
                calls += 1
        if engine.advance("MA_test", at + timedelta(seconds=30), state):
            return day, local
    return None


def test_a_silent_day_of_an_account_that_receives_calls_is_no_off_day() -> None:
    """An office whose calls are half inbound, silent from the start of its fifth day, is
    flagged that day before 16:00: a day without a campaign still brings its inbound calls, so
    it runs at least at the inbound share (before, such a day was judged as a possible off-day
    at a dialer's 15 % and not flagged that day); an all-outbound dialer's silent day still is
    not."""
    found = silent_morning_alert(inbound_every=2)
    assert found is not None
    assert found[0] == 4
    assert silent_morning_alert(inbound_every=10**6) is None


@pytest.mark.parametrize("per_slot", [1, 10, 100])
def test_a_half_inbound_offices_silent_day_gets_one_verdict_at_any_size(per_slot: int) -> None:
    """The half-inbound office's silent fifth day is flagged that morning or early afternoon
    at 48, 480 and 4,800 calls a day alike (the busier, the sooner)."""
    found = silent_morning_alert(inbound_every=2, per_slot=per_slot)
    assert found is not None
    assert found[0] == 4


def test_a_silence_is_no_evidence_that_the_account_has_off_days() -> None:
    """An account that makes 24 calls a working day, a fifth of them inbound, goes silent on
    its Wednesday morning: judged strictly (min_surprise 12) the silence is flagged on the
    Thursday afternoon. Before, the silent Wednesday counted as an off-day once it closed, so
    the Thursday looked like another one and the silence was never flagged by Friday evening;
    a silence's days now join the off-day counts only when a call ends it."""
    engine = RuleEngine(ruleset_of(dict(RULE, min_surprise=12)))
    state = engine.new_state()
    found = None
    for minute in range(5 * 24 * 60):
        at = MONDAY + timedelta(minutes=minute)
        if minute < 2 * 24 * 60 and minute % (24 * 60) < 8 * 60 and minute % 20 == 0:
            inbound = {"direction": "inbound"} if minute % 100 == 0 else {}
            engine.observe(make_cdr(at, f"c{minute}", inbound), state)
        if engine.advance("MA_test", at + timedelta(seconds=30), state) and found is None:
            found = minute - 2 * 24 * 60
    assert found is not None
    assert 24 * 60 < found < 24 * 60 + 8 * 60
