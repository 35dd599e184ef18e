"""The seasonal baseline's first-week fallback: hour of the day, robust to a one-off burst."""

from __future__ import annotations

from detector.windows import Seasonal
from detector.windows.seasonal import DAY


def day_of(values: dict[int, float], day: int) -> list[tuple[int, float]]:
    """(absolute hour, value) for every hour of `day`: `values` by hour of day, else 0."""
    return [(day * 24 + h, values.get(h, 0.0)) for h in range(24)]


def test_first_night_burst_is_not_expected_again_once_the_next_night_was_quiet() -> None:
    """A burst on the first night, before any cap applies, no longer backs the third night."""
    s = Seasonal()
    for hour, value in day_of({3: 40.0, 4: 48.0, 10: 50.0}, 0) + day_of({10: 50.0}, 1):
        s.add(hour, value)
    s.add(2 * 24 + 5, 0.0)  # folds everything before hour 5 of day 2
    third_night = 3 * 24 + 3
    assert s.history(third_night) == DAY
    assert s.expected(third_night) == 0.0
    assert s.expected(3 * 24 + 10) == 50.0


def test_day_fallback_follows_the_lower_of_level_and_latest_day() -> None:
    """A busy hour that was quieter yesterday is expected at yesterday's level, not above it."""
    s = Seasonal()
    for hour, value in day_of({9: 60.0}, 0) + day_of({9: 30.0}, 1) + [(2 * 24, 0.0)]:
        s.add(hour, value)
    assert s.expected(3 * 24 + 9) == 30.0


def office(day: int, burst: dict[int, float] | None = None) -> list[tuple[int, float]]:
    """An office day: 10 calls an hour from 09:00 to 17:00, 1 an hour else, plus `burst`."""
    values = {h: 10.0 if 9 <= h < 18 else 1.0 for h in range(24)}
    for hour, calls in (burst or {}).items():
        values[hour] += calls
    return day_of(values, day)


def test_a_burst_seen_on_one_day_only_is_expected_next_day_at_most_cap_times_its_hours() -> None:
    """A 90-call burst at 03:00-05:00 on the first day is expected on the second night at
    most three times the quiet hours around it, or a third of the overall mean if higher, not
    at 91."""
    s = Seasonal()
    for hour, value in office(0, {3: 90.0, 4: 40.0}) + office(1)[:3]:
        s.add(hour, value)
    s.add(24 + 3, 0.0)  # folds the first day; hour 3 of the second night in progress
    assert s.history(24 + 3) == DAY
    assert s.expected(24 + 3) == max(3.0, s.mean / 3.0)
    assert s.expected(24 + 3) < 20.0
    assert s.expected(24 + 10) == 10.0  # the office hours keep their level


def test_a_busy_hour_seen_on_two_days_keeps_its_level() -> None:
    """An hour as busy on both of the first two days is a habit, not a burst: expected as seen."""
    s = Seasonal()
    for hour, value in office(0, {3: 90.0}) + office(1, {3: 90.0}):
        s.add(hour, value)
    s.add(2 * 24, 0.0)
    assert s.expected(2 * 24 + 3) == 91.0


def test_a_closed_weekend_does_not_empty_the_first_monday() -> None:
    """An office seen on Thursday and Friday, closed at the weekend, expects its first Monday
    morning at the weekdays' level, not at the empty Sunday's."""
    s = Seasonal()
    for hour, value in office(0) + office(1) + day_of({}, 2) + day_of({}, 3):
        s.add(hour, value)
    monday = 4 * 24
    s.add(monday + 9, 0.0)  # folds the weekend and Monday's night
    assert s.history(monday + 10) == DAY
    assert s.expected(monday + 10) == 10.0
    assert s.expected(monday + 20) == 1.0
    assert s.expected(5 * 24 + 10) < 10.0  # Tuesday keeps the hour of the day's cautious guess
