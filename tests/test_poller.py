"""The tailing poller: exactly once under late arrivals, page shifts and faults; fallback."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.domain import CDR, Rejected
from detector.errors import AuthError, RetryableSourceError
from detector.source.poller import Poller
from detector.source.rows import PollResult
from detector.source.settings import PollerConfig
from tests.feed import Call, FakeFeed, Fault

NOW = datetime(2026, 3, 25, 22, 30, tzinfo=UTC)
CONFIG = PollerConfig(
    per_page=5,
    max_ring_s=130,
    max_lag_s=60,
    horizon_s=7200,
    tier_bounds_s=(60, 600),
    tier_every_s=(0, 60, 600),
    interval_s=60,
)


def normalize(row: object, *, account: str | None = None) -> CDR | Rejected:
    """The real normaliser, imported lazily so this module loads before it exists."""
    from detector.source.normalize import normalize as real

    return real(row, account=account)


class Tail:
    """A caller that commits seen ids only after a successful poll, like the service."""

    def __init__(self, feed: FakeFeed, config: PollerConfig = CONFIG, **api: Any) -> None:
        self.feed = feed
        self.cursor: dict[str, Any] | None = None
        self.poller = Poller(feed.api(**api), normalize, config, feed.clock)
        self.committed: set[str] = set()
        self.returned: list[str] = []
        self.rejected: list[Rejected] = []

    def seen(self, ids: Any) -> set[str]:
        """The committed subset of `ids`."""
        return {i for i in ids if i in self.committed}

    def poll(self) -> PollResult | None:
        """Poll once; commit on success, drop everything on a source fault."""
        try:
            result = self.poller.poll(self.cursor, self.seen)
        except RetryableSourceError:
            return None
        assert len(result.new_ids) == len(result.cdrs) + len(result.rejected)
        self.returned += [key for key, _ in result.new_ids]
        self.rejected += result.rejected
        self.committed.update(key for key, _ in result.new_ids)
        self.cursor = json.loads(json.dumps(result.cursor))
        return result

    def expected(self) -> set[str]:
        """Ids of every call at or after the floor the first poll chose."""
        floor = (self.cursor or {}).get("floor")
        if floor is None:
            return set()
        low = datetime.fromisoformat(floor)
        return {c.call_id for c in self.feed.calls if c.start >= low}


calls_strategy = st.lists(
    st.tuples(
        st.integers(0, 3 * 3600),
        st.integers(0, 130),
        st.one_of(st.integers(0, 700), st.integers(700, 7000)),
        st.integers(0, 60),
    ),
    max_size=40,
)
steps_strategy = st.lists(
    st.tuples(
        st.integers(0, 1800),
        st.sampled_from([None, None, "500", "429", "timeout", "malformed", "fail"]),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=120, deadline=None)
@given(
    calls=calls_strategy,
    steps=steps_strategy,
    tick=st.integers(0, 30),
    shape=st.sampled_from(["a", "b"]),
    totals=st.sampled_from(["exact", "exact", "flaky"]),
    budget=st.sampled_from([2, 3, 50]),
    every=st.sampled_from([(0, 0, 0), (0, 60, 600), (120, 300, 1800)]),
    workers=st.sampled_from([1, 3]),
    target=st.sampled_from([0.0, 0.25, 0.01]),
    order=st.sampled_from(["newest", "newest", "newest", "oldest"]),
)
def test_every_served_cdr_is_returned_exactly_once(
    calls: list[tuple[int, int, int, int]],
    steps: list[tuple[int, str | None]],
    tick: int,
    shape: str,
    totals: str,
    budget: int,
    every: tuple[float, float, float],
    workers: int,
    target: float,
    order: str,
) -> None:
    """Across late calls, page shifts, faults, bad totals, budget cuts, cadences, orders: once."""
    feed = FakeFeed(now=NOW, shape=shape, tick_s=tick, totals=totals, order=order)
    config = replace(
        CONFIG,
        max_pages_per_cycle=budget,
        tier_every_s=every,
        workers=workers,
        target_overhead=target,
    )
    base = NOW - timedelta(hours=1)
    feed.calls = [
        Call(f"call-{i:03d}", base + timedelta(seconds=off), ring, talk, lag)
        for i, (off, ring, talk, lag) in enumerate(calls)
    ]
    tail = Tail(feed, config, max_retries=1)
    for advance, fault in steps:
        feed.advance(advance)
        feed.inject(fault)
        tail.poll()
    feed.faults.clear()
    for _ in range(60):  # drain gradually, so the head moves past late calls before they land
        feed.advance(300)
        assert tail.poll() is not None
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()


def steady_feed(**kwargs: Any) -> FakeFeed:
    """A feed with twelve short calls, one a minute, all visible."""
    feed = FakeFeed(now=NOW, **kwargs)
    feed.calls = [Call(f"s{i:02d}", NOW - timedelta(minutes=20 - i)) for i in range(12)]
    return feed


def test_first_poll_starts_from_the_newest_row_by_default() -> None:
    """With start_back 0 the first poll anchors on the feed's newest call, not the wall clock."""
    tail = Tail(steady_feed())
    tail.poll()
    assert tail.returned == ["s11"]
    assert tail.cursor is not None
    assert tail.cursor["floor"] == (NOW - timedelta(minutes=9)).isoformat()


def test_start_back_reaches_into_the_past_on_first_poll() -> None:
    """A start_back of 10 minutes returns the calls of the last 10 minutes of the feed."""
    tail = Tail(steady_feed(), replace(CONFIG, start_back_s=600))
    first = tail.poll()
    assert first is not None
    assert not first.complete, "the first poll only anchors (and commits) the floor"
    assert first.requests == 1
    tail.poll()
    assert sorted(tail.returned) == [f"s{i:02d}" for i in range(1, 12)]


def test_steady_state_read_stops_once_the_new_rows_are_counted() -> None:
    """With exact totals a tier read stops at the page holding its new rows, not at its bound."""
    feed = FakeFeed(now=NOW)
    feed.calls = [Call(f"s{i:02d}", NOW - timedelta(seconds=5 * (60 - i) + 60)) for i in range(60)]
    tail = Tail(feed, replace(CONFIG, start_back_s=3600))
    tail.poll()
    tail.poll()
    feed.calls.append(Call("new", NOW))
    feed.advance(60)
    result = tail.poll()
    assert result is not None
    assert [c.call_id for c in result.cdrs] == ["new"]
    assert result.requests == 2  # page 1 of the two due tiers; the bound lies ~10 pages down
    assert result.complete


def test_late_long_call_is_found_in_its_tier_once() -> None:
    """A long call published behind already-seen rows is returned once, by its own tier."""
    feed = steady_feed()
    tail = Tail(feed, replace(CONFIG, start_back_s=3600))
    tail.poll()
    feed.calls.append(Call("long", NOW - timedelta(minutes=50), ring_s=10, talk_s=3000))
    for _ in range(12):  # the long tier is read every 10 polls here
        feed.advance(120)
        tail.poll()
    assert tail.returned.count("long") == 1
    tiers = {r.url.params.get("min_duration") for r in feed.requests}
    assert tiers == {None, "0", "60", "600", "7201"}  # the last: calls beyond the horizon


def test_budget_cut_scan_resumes_and_every_poll_makes_progress() -> None:
    """A backlog larger than one cycle's page budget is finished over later polls, once."""
    feed = FakeFeed(now=NOW)
    feed.calls = [Call(f"b{i:02d}", NOW - timedelta(seconds=50 * i + 60)) for i in range(60)]
    tail = Tail(feed, replace(CONFIG, start_back_s=3600, max_pages_per_cycle=3, workers=3))
    results = [tail.poll() for _ in range(9)]
    assert results[1] is not None
    assert not results[1].complete
    assert "resume" in json.dumps(results[1].cursor)
    assert all(r is not None and r.requests <= 3 for r in results)
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()
    assert len(tail.expected()) == 60
    assert results[-1] is not None
    assert results[-1].complete


@pytest.mark.parametrize("shape", ["a", "b"])
def test_missing_or_falling_totals_still_return_every_call_once(shape: str) -> None:
    """When totals are missing or go down, reads fall back to their bound and miss nothing."""
    feed = FakeFeed(now=NOW, shape=shape, totals="flaky", tick_s=3)
    tail = Tail(feed, replace(CONFIG, start_back_s=600))
    for i in range(40):
        feed.calls.append(Call(f"f{i:02d}", feed.now - timedelta(seconds=40), talk_s=7 * i))
        feed.advance(45)
        tail.poll()
    for _ in range(10):
        feed.advance(300)
        tail.poll()
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()


def test_failed_poll_commits_nothing_and_the_next_poll_recovers() -> None:
    """A fault mid-cycle raises; polling again from the same cursor returns the rows once."""
    feed = steady_feed()
    tail = Tail(feed, max_retries=0)
    tail.poll()
    feed.calls += [Call(f"n{i}", NOW + timedelta(seconds=i)) for i in range(8)]
    feed.advance(120)
    feed.faults.append(Fault("503"))
    cursor = tail.cursor
    with pytest.raises(RetryableSourceError):
        tail.poller.poll(cursor, tail.seen)
    assert tail.cursor == cursor
    tail.poll()
    assert sorted(tail.returned) == sorted(["s11", *(f"n{i}" for i in range(8))])


def test_rejected_rows_are_returned_once_not_once_per_poll() -> None:
    """A bad row with an id and one without are each returned once across polls."""
    feed = steady_feed()
    at = NOW - timedelta(seconds=30)
    feed.raw_rows = [
        (at, {"call_uuid": "bad-1", "start_time": at.isoformat()}),
        (at, {"start_time": at.isoformat(), "note": "no id at all"}),
    ]
    tail = Tail(feed)
    for _ in range(3):
        feed.advance(10)
        tail.poll()
    assert len(tail.rejected) == 2
    assert "bad-1" in tail.returned


def test_auth_errors_propagate_out_of_poll() -> None:
    """A 401 during a poll is raised to the caller as AuthError."""
    feed = steady_feed()
    feed.faults.append(Fault("401"))
    tail = Tail(feed)
    with pytest.raises(AuthError):
        tail.poller.poll(None, tail.seen)


@pytest.mark.parametrize("shape", ["a", "b"])
def test_oldest_first_feed_falls_back_to_reading_the_horizon(shape: str) -> None:
    """When page 1 is not newest-first, each poll reads the date-filtered horizon, still once."""
    feed = steady_feed(order="oldest", shape=shape, tick_s=2)
    tail = Tail(feed, replace(CONFIG, start_back_s=3600))
    tail.poll()
    for i in range(6):
        feed.calls.append(Call(f"late{i}", feed.now - timedelta(minutes=30), talk_s=60 * i))
        feed.advance(400)
        tail.poll()
    assert tail.cursor is not None
    assert tail.cursor["order"] == "other"
    assert any("start_date" in r.url.params for r in feed.requests)
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()


def test_oldest_first_pass_longer_than_the_budget_resumes_until_every_row_is_read() -> None:
    """A fallback pass deeper than the page budget continues where it stopped, never restarts."""
    feed = FakeFeed(now=NOW, order="oldest", tick_s=1)
    feed.calls = [Call(f"b{i:03d}", NOW - timedelta(seconds=20 * (120 - i))) for i in range(120)]
    tail = Tail(feed, replace(CONFIG, start_back_s=3 * 3600, max_pages_per_cycle=3))
    tail.poll()
    complete = []
    for _ in range(40):
        feed.advance(10)
        result = tail.poll()
        assert result is not None
        complete.append(result.complete)
    assert False in complete, "120 rows cannot be read within a 3-page budget"
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()


def test_backfill_pages_through_a_date_range_once() -> None:
    """Backfill yields one result per page and dedupes rows that shift between pages."""
    feed = steady_feed(tick_s=0)
    tail = Tail(feed)
    results = list(tail.poller.backfill(date(2026, 3, 25), date(2026, 3, 25)))
    ids = [key for r in results for key, _ in r.new_ids]
    assert sorted(ids) == sorted(c.call_id for c in feed.calls)
    assert len(results) == 3
    assert results[0].cursor == {
        "backfill": {"start_date": "2026-03-25", "end_date": "2026-03-25", "page": 1}
    }
