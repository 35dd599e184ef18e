"""Window math: scenario tables with ASCII timelines, and hypothesis properties."""

from __future__ import annotations

import doctest
import importlib
import pickle
import random
from array import array

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from detector.rules.kinds.base import late_ends
from detector.windows import Buckets, Distinct, Seasonal, bucket_width, span_of
from detector.windows.positional import named_state
from detector.windows.seasonal import DAY, NONE, WEEK


def play(timeline: str, span: int, keep: int = 0) -> Buckets:
    """Feed a timeline: one character per bucket, `x` one event, a digit n events, `.` none."""
    window = Buckets()
    for bucket, mark in enumerate(timeline.strip("|").replace(" ", "")):
        n = 1 if mark == "x" else 0 if mark == "." else int(mark)
        if n:
            window.add(bucket, float(n), span, n=float(n), keep=keep)
    return window


@pytest.mark.parametrize(
    ("timeline", "span", "count"),
    [
        ("|x x x|", 3, 3),  # everything inside the window
        ("|x x x x|", 3, 3),  # the first bucket slid out
        ("|2 . . x|", 3, 1),  # a burst three buckets ago is gone
        ("|2 . x|", 3, 3),  # ... but two buckets ago it still counts
        ("|x . . . . . . x|", 3, 1),  # a gap longer than the window clears it
        ("|3|", 1, 3),  # a one-bucket window holds its bucket
        ("|. . . .|", 3, 0),  # nothing seen, nothing counted
    ],
)
def test_window_counts_follow_the_timeline(timeline: str, span: int, count: int) -> None:
    """The window counts exactly the events of the last `span` buckets ending at the newest."""
    window = play(timeline, span)
    assert window.count == count
    assert window.total == count


@pytest.mark.parametrize(
    ("timeline", "late_bucket", "accepted", "count"),
    [
        ("|x x x x|", 2, True, 4),  # late but inside the window: updates it
        ("|x x x x|", 1, True, 4),  # the oldest open bucket still counts
        ("|x x x x|", 0, False, 3),  # older than the window: ignored and reported
    ],
)
def test_late_events_update_open_buckets_only(
    timeline: str, late_bucket: int, accepted: bool, count: int
) -> None:
    """A late event lands in its bucket while that bucket is in the window, else is refused."""
    window = play(timeline, 3)
    assert bool(window.add(late_bucket, 1.0, 3)) is accepted
    assert window.count == count


@pytest.mark.parametrize(
    ("timeline", "late_bucket", "accepted", "count", "older", "peak"),
    [
        # span 3, keep 2:     |retained|window|
        ("|x x x x|", 2, True, 4, 1, 4),  # late inside the window: updates it, peak is the newest
        ("|2 x . . x|", 1, True, 1, 4, 4),  # late, retained: its own window 0..1 peaks at 4
        ("|x x . x x|", 1, True, 2, 3, 3),  # retained: window 0..2 (ends at 1) holds 3
        ("|. . . . . x|", 1, True, 1, 1, 1),  # retained alone: the newest window still reads 1
        ("|x . . . . x|", 0, False, 1, 0, 1),  # beyond the retention (bucket 5 - 3 - 2): ignored
        ("|. . . . . . x|", 1, False, 1, 0, 1),  # beyond the retention: ignored and reported
    ],
)
def test_late_events_within_the_retention_update_their_own_windows(
    timeline: str, late_bucket: int, accepted: bool, count: int, older: int, peak: int
) -> None:
    """A late event in the retention updates its cell outside the newest window; the peak of
    the windows containing it (ending at buckets holding events, plus the newest) sees it."""
    span, keep = 3, 2
    window = play(timeline, span, keep)
    assert bool(window.add(late_bucket, 1.0, span, keep=keep)) is accepted
    assert (window.count, window.older) == (count, older)
    ends = late_ends(window, late_bucket, span) if accepted else [window.head]
    assert max(n for n, _ in window.sums_at(ends, span)) == peak


def test_state_pickled_before_the_retention_existed_restores_with_nothing_retained() -> None:
    """An old pickled window (five fields) loads with empty retention sums."""
    old = Buckets.__new__(Buckets)
    old.__setstate__((None, {"head": 4, "cells": {4: [2.0, 3.0]}, "count": 2.0, "total": 3.0,
                             "low": 4}))  # fmt: skip
    assert (old.count, old.older, old.older_total) == (2.0, 0.0, 0.0)
    assert old.add(5, 1.0, 3, keep=2)
    assert pickle.loads(pickle.dumps(old)) == old  # noqa: S301 - our own bytes


def test_count_at_reads_a_later_window_without_changing_it() -> None:
    """`count_at` sees what the window would hold at a later head, leaving the state as is."""
    window = play("|x x x|", 3)
    assert window.count_at(3, 3) == 2
    assert window.count_at(10, 3) == 0
    assert window.count == 3


def test_bucket_geometry_is_window_over_thirty_with_a_ten_second_floor() -> None:
    """Bucket width is window/30 (at least 10 s) and the span covers the window."""
    assert bucket_width(3600) == 120
    assert bucket_width(60) == 10
    assert span_of(3600, 120) == 30
    assert span_of(65, 10) == 7


events = st.lists(st.integers(min_value=0, max_value=400), max_size=120)


@given(events, st.integers(min_value=1, max_value=40))
def test_window_count_equals_a_brute_force_count(buckets: list[int], span: int) -> None:
    """After any arrival sequence the count equals a brute-force count over the final window."""
    window = Buckets()
    for b in buckets:
        window.add(b, 2.0, span)
    head = max(buckets, default=None)
    expected = 0 if head is None else sum(1 for b in buckets if head - span < b <= head)
    assert window.count == expected
    assert window.total == 2.0 * expected
    assert len(window.cells) <= span


@given(events, st.integers(min_value=1, max_value=40), st.randoms(use_true_random=False))
def test_window_state_is_independent_of_arrival_order(
    buckets: list[int], span: int, rnd: random.Random
) -> None:
    """Shuffling the arrivals yields the same final window."""
    shuffled = list(buckets)
    rnd.shuffle(shuffled)
    a, b = Buckets(), Buckets()
    for x in buckets:
        a.add(x, 1.0, span)
    for x in shuffled:
        b.add(x, 1.0, span)
    assert (a.head, a.count, dict(sorted(a.cells.items()))) == (
        b.head,
        b.count,
        dict(sorted(b.cells.items())),
    )


@given(events, st.integers(min_value=1, max_value=20), st.integers(min_value=0, max_value=20))
@example([0, 3, 4, 5], 3, 2)  # bucket 0 leaves the retention while no cell leaves the window
def test_retained_windows_equal_brute_force_sums(buckets: list[int], span: int, keep: int) -> None:
    """With a retention, the count and every retained window equal brute-force counts, and
    `older` bounds the retained events (cells past the retention go when the window moves)."""
    window = Buckets()
    accepted: list[int] = []
    for b in buckets:
        if window.add(b, 2.0, span, keep=keep):
            accepted.append(b)
        else:
            assert b <= window.head - span - keep
    head, gone = window.head, window.head - span - keep
    retained = [b for b in accepted if b > gone]
    assert window.count == sum(1 for b in retained if b > head - span)
    assert window.older >= sum(1 for b in retained if b <= head - span)
    assert window.older == sum(n for n, _ in window.kept.values())
    assert window.older_total == 2.0 * window.older
    assert {b for b in window.kept if b > gone} == {b for b in retained if b <= head - span}
    ends = list(range(head - keep, head + 1)) if buckets else []
    expected = [sum(1.0 for b in retained if e - span < b <= e) for e in ends]
    assert [n for n, _ in window.sums_at(ends, span)] == expected
    assert len(window.cells) + len(window.kept) <= 2 * (span + keep)


values = st.lists(
    st.tuples(st.sampled_from("abcdefgh"), st.integers(min_value=0, max_value=200)), max_size=80
)


@given(values, st.integers(min_value=1, max_value=30))
def test_distinct_count_equals_a_brute_force_count(seen: list[tuple[str, int]], span: int) -> None:
    """The distinct count equals the number of values seen in the final window."""
    window = Distinct()
    for value, bucket in seen:
        window.add(value, bucket, span)
    head = max((b for _, b in seen), default=None)
    expected = set() if head is None else {v for v, b in seen if head - span < b <= head}
    assert window.count == len(expected)


@given(values, st.integers(min_value=1, max_value=30), st.randoms(use_true_random=False))
def test_distinct_is_independent_of_arrival_order(
    seen: list[tuple[str, int]], span: int, rnd: random.Random
) -> None:
    """Shuffling the arrivals yields the same distinct set."""
    shuffled = list(seen)
    rnd.shuffle(shuffled)
    a, b = Distinct(), Distinct()
    for v, x in seen:
        a.add(v, x, span)
    for v, x in shuffled:
        b.add(v, x, span)
    assert a.last == b.last


def test_distinct_stops_growing_at_its_cap_and_says_so() -> None:
    """Past the cap new values are not stored and the set reports saturation."""
    window = Distinct()
    for i in range(10):
        window.add(str(i), 0, span=5, cap=4)
    assert window.count == 4
    assert window.saturated


def test_seasonal_baseline_learns_each_hour_of_week_and_zeros_for_silent_hours() -> None:
    """Completed hours fold into their slot (the first, partial one is skipped); hours without
    events fold in as zeros."""
    baseline = Seasonal()
    baseline.add(0, 7.0)  # the key's first hour: partial, never learned
    baseline.add(1, 50.0)
    baseline.add(4, 1.0)  # hours 2 and 3 were silent
    assert baseline.hours_seen == 3
    assert baseline.history(0) == 0
    assert baseline.expected(1) == 50.0
    assert baseline.expected(2) == 0.0
    assert baseline.expected(169) == 50.0  # same hour one week later


def test_seasonal_baseline_ignores_hours_already_folded() -> None:
    """A value for an hour already folded does not rewrite history."""
    baseline = Seasonal()
    baseline.add(4, 3.0)  # the first, partial hour
    baseline.add(5, 10.0)
    baseline.add(6, 1.0)
    baseline.add(5, 1000.0)
    assert baseline.expected(5) == 10.0


def test_seasonal_baseline_falls_back_to_the_hour_of_day_for_an_unseen_hour_of_week() -> None:
    """Two days of busy days and silent nights: day 3's night is expected quiet, its noon busy."""
    baseline = Seasonal()
    for hour in range(48):
        baseline.add(hour, 10.0 if 9 <= hour % 24 < 18 else 0.0)
    baseline.add(48, 0.0)
    night, noon = 48 + 2, 48 + 12
    assert baseline.history(night) == baseline.history(noon) == DAY
    assert baseline.expected(night) == 0.0
    assert baseline.expected(noon) == 10.0
    assert baseline.history(12) == WEEK


def test_seasonal_baseline_says_when_an_hour_has_no_history() -> None:
    """An hour of the day never folded has no history and falls back to the overall mean."""
    baseline = Seasonal()
    assert baseline.history(0) == NONE
    baseline.add(0, 4.0)  # the first, partial hour: not learned
    baseline.add(1, 4.0)
    baseline.add(2, 4.0)
    assert (baseline.history(0), baseline.history(1), baseline.history(5)) == (NONE, WEEK, NONE)
    assert baseline.expected(5) == 4.0


def test_seasonal_baseline_does_not_learn_a_burst_as_the_norm() -> None:
    """After a day of 10 an hour, a 1,000-call hour is learned as at most three times 10."""
    baseline = Seasonal()
    for hour in range(25):  # hour 0 is the first, partial hour (not learned)
        baseline.add(hour, 10.0)
    baseline.add(25, 1000.0)
    baseline.add(26, 10.0)
    assert baseline.expected(25) <= 30.0
    assert baseline.expected(25 + 24) <= 30.0


def test_window_states_are_small_when_pickled() -> None:
    """A full hour window and a trained baseline each pickle to a few kilobytes at most."""
    window = Buckets()
    for b in range(1000):
        window.add(b, 1.0, 30)
    baseline = Seasonal()
    for h in range(400):
        baseline.add(h, 3.0)
    assert len(pickle.dumps(window)) < 1500
    assert len(pickle.dumps(baseline)) < 4000


@pytest.mark.parametrize(
    "module",
    ["detector.windows.buckets", "detector.windows.distinct", "detector.windows.seasonal"],
)
def test_window_module_examples_hold(module: str) -> None:
    """The runnable examples in each window module's docstrings pass."""
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


@given(events, st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=500))
def test_empty_at_equals_a_brute_force_check(buckets: list[int], span: int, later: int) -> None:
    """`empty_at` (with its shortcut on the newest cell) agrees with scanning every cell."""
    window = Buckets()
    for b in buckets:
        window.add(b, 1.0, span)
    if buckets and later % 3 == 0:
        window.slide(max(buckets) + later % 7, span)  # a head with no cell of its own
    assert window.empty_at(later, span) == all(b <= later - span for b in window.cells)


@given(values, st.integers(min_value=1, max_value=30))
def test_distinct_keeps_exactly_the_values_of_the_window(
    seen: list[tuple[str, int]], span: int
) -> None:
    """After any arrivals (slides skipped when nothing can leave) the set is the window's."""
    window = Distinct()
    newest: dict[str, int] = {}
    for value, bucket in seen:
        if window.add(value, bucket, span):
            newest[value] = max(bucket, newest.get(value, bucket))
    floor = window.head - span
    assert window.last == {v: b for v, b in newest.items() if b > floor}


def _reference_add(ref: dict[str, object], bucket: int, value: float, span: int) -> None:
    """The window algorithm before `Buckets.low`: scan every cell on each new newest bucket."""
    cells: dict[int, list[float]] = ref["cells"]  # type: ignore[assignment]
    head: int = ref["head"]  # type: ignore[assignment]
    if bucket > head:
        ref["head"] = bucket
        floor = bucket - span
        if cells:
            if floor >= head:
                cells.clear()
            for b in [b for b in cells if b <= floor]:
                n, x = cells.pop(b)
                ref["count"] -= n  # type: ignore[operator]
                ref["total"] -= x  # type: ignore[operator]
            if not cells:
                ref["count"] = ref["total"] = 0.0
    elif bucket <= head - span:
        return
    cell = cells.setdefault(bucket, [0.0, 0.0])
    cell[0] += 1.0
    cell[1] += value
    ref["count"] += 1.0  # type: ignore[operator]
    ref["total"] += value  # type: ignore[operator]


amounts = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=300),
        st.floats(min_value=0, max_value=1e4, allow_nan=False),
    ),
    max_size=150,
)


@given(amounts, st.integers(min_value=1, max_value=40))
def test_window_sums_match_the_full_scan_algorithm_bit_for_bit(
    arrivals: list[tuple[int, float]], span: int
) -> None:
    """Late and out-of-order sums leave the same cells, in the same order, with equal floats."""
    window = Buckets()
    ref: dict[str, object] = {"head": window.head, "cells": {}, "count": 0.0, "total": 0.0}
    for bucket, value in arrivals:
        window.add(bucket, value, span)
        _reference_add(ref, bucket, value, span)
        assert list(window.cells.items()) == list(ref["cells"].items())  # type: ignore[attr-defined]
        assert (window.head, window.count, window.total) == (
            ref["head"],
            ref["count"],
            ref["total"],
        )
        assert not window.cells or window.low == min(window.cells)


def test_seasonal_state_pickled_before_hour_of_day_slots_still_loads() -> None:
    """A baseline pickled without `daily` loads with unset hour-of-day slots and keeps learning."""
    old = Seasonal()
    for h in range(30):
        old.add(h, 5.0)
    state = named_state(old)[1]
    del state["daily"]  # what a build before the hour-of-day slots pickled
    restored = Seasonal.__new__(Seasonal)
    restored.__setstate__((None, state))
    assert list(restored.daily) == [-1.0] * 24
    assert restored.history(29 + 24 * 3) == NONE
    restored.add(31, 1.0)  # folds hour 29 (5 calls) and the silent hour 30
    assert restored.history(29 + 24 * 3) == DAY
    assert restored.expected(29 + 24 * 3) == 5.0


def test_seasonal_state_pickled_as_lists_loads_as_tables_with_the_same_expectations() -> None:
    """A baseline pickled when its slots were lists of floats loads as 4-byte tables, expects
    what it expected, and keeps learning."""
    old = Seasonal()
    for h in range(60):
        old.add(h, float(h % 24))
    state = named_state(old)[1]
    for name in ("slots", "daily", "recent"):
        state[name] = list(state[name])  # what a build before the tables pickled
    restored = Seasonal.__new__(Seasonal)
    restored.__setstate__((None, state))
    assert all(isinstance(getattr(restored, n), array) for n in ("slots", "daily", "recent"))
    assert [restored.expected(h) for h in range(60, 84)] == [old.expected(h) for h in range(60, 84)]
    restored.add(61, 1.0)
    assert restored.history(60) == WEEK


def test_a_seasonal_baseline_pickles_in_under_a_kilobyte() -> None:
    """A learned hour-of-week baseline (216 slots) pickles to under 1,200 bytes (as a list of
    floats it took about 2,000)."""
    s = Seasonal()
    for h in range(200):
        s.add(h, 3.0)
    assert len(pickle.dumps(s)) < 1200


def test_a_swept_window_pickles_its_head_alone_and_judges_late_values_as_before() -> None:
    """After `clear_at`, only the head is pickled; a value older than the window is still
    refused and a new one starts an empty window."""
    window = Buckets()
    window.add(100, 1.0, 10)
    assert window.clear_at(200, 10)
    restored = pickle.loads(pickle.dumps(window))  # noqa: S301 (our own bytes)
    assert (restored.head, restored.cells, restored.count) == (100, {}, 0.0)
    assert restored.add(80, 1.0, 10) == 0
    assert restored.add(201, 1.0, 10)
    assert restored.count == 1.0


def test_a_swept_window_pickles_as_its_head_alone() -> None:
    """A window whose cells are gone pickles as its head alone and loads back equal."""
    window = Buckets()
    window.add(10, 2.0, 5)
    assert window.clear_at(20, 5)
    assert window.__getstate__() == (10,)
    assert pickle.loads(pickle.dumps(window)) == window  # noqa: S301 - our own state


def test_a_first_day_seasonal_baseline_pickles_compressed_and_loads_back_equal() -> None:
    """A baseline with a day of history (most hours of the week unset) pickles in well under
    half the bytes of its raw tables and loads back equal, still learning."""
    baseline = Seasonal()
    for h in range(26):
        baseline.add(h, float(h % 5))
    blob = pickle.dumps(baseline)
    assert len(blob) < 4 * (168 + 24 + 24) / 2
    restored = pickle.loads(blob)  # noqa: S301 - our own state
    assert restored == baseline
    restored.add(27, 3.0)
    baseline.add(27, 3.0)
    assert restored == baseline
