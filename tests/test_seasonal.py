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
