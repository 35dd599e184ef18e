"""Tier cadences chosen from what reads cost: shorter when cheap, bounded, cursor-compatible."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from detector.source.settings import PollerConfig
from tests.feed import Call, FakeFeed
from tests.test_poller import NOW, Tail

CONFIG = PollerConfig(
    per_page=5,
    max_ring_s=130,
    max_lag_s=60,
    horizon_s=7200,
    tier_bounds_s=(60,),
    tier_every_s=(600, 600),
    interval_s=60,
    target_overhead=0.25,
    latency_budget=0,  # these tests are about the efficiency mode
)


def busy_feed(seconds: int) -> FakeFeed:
    """Short calls (rings 0-20 s, talk 0-20 s) every 10 s for `seconds`, starting now."""
    feed = FakeFeed(now=NOW)
    feed.calls = [
        Call(f"c{i:05d}", NOW + timedelta(seconds=10 * i), i % 21, (i * 7) % 21, 2)
        for i in range(seconds // 10)
    ]
    return feed


def t0_reads(feed: FakeFeed, since: int) -> int:
    """Page-1 reads of the short tier among the requests from index `since` on."""
    return sum(
        1
        for r in feed.requests[since:]
        if r.url.params.get("min_duration") == "0" and r.url.params.get("page") == "1"
    )


def run(tail: Tail, polls: int) -> None:
    """Poll `polls` times, one interval apart."""
    for _ in range(polls):
        tail.feed.advance(60)
        tail.poll()


def drain(tail: Tail) -> None:
    """Let every call land, then poll past the longest cadence so each tier reads it."""
    tail.feed.advance(3 * 3600)
    run(tail, 25)


def second_hour(config: PollerConfig) -> tuple[Tail, FakeFeed, int]:
    """A tail of a busy feed polled for an hour (warm-up), then another: the tail, its feed and
    the index of the second hour's first request."""
    feed = busy_feed(2 * 3600)
    tail = Tail(feed, config)
    run(tail, 60)
    since = len(feed.requests)
    run(tail, 60)
    return tail, feed, since


def test_a_busy_tier_is_read_more_often_than_its_longest_cadence() -> None:
    """When re-reads are small next to a tier's new rows, it is read sooner than every_s."""
    tail, feed, since = second_hour(CONFIG)
    assert t0_reads(feed, since) > 6
    drain(tail)
    assert set(tail.returned) == tail.expected()
    assert len(tail.returned) == len(set(tail.returned))


def test_a_zero_target_keeps_the_longest_cadence() -> None:
    """With target_overhead 0 each tier is read every every_s, as before estimates existed."""
    _tail, feed, since = second_hour(replace(CONFIG, target_overhead=0))
    assert t0_reads(feed, since) == 6


def test_a_quiet_tier_is_read_at_its_longest_cadence() -> None:
    """A tier whose reads find nothing new waits its full every_s (its latency bound)."""
    _tail, feed, since = second_hour(CONFIG)
    long_reads = [r for r in feed.requests[since:] if r.url.params.get("min_duration") == "60"]
    assert len(long_reads) == 6


def test_cost_estimates_travel_in_the_cursor_and_old_cursors_still_load() -> None:
    """The cursor carries each tier's cost as JSON; one without it polls on, rows once."""
    feed = busy_feed(2 * 3600)
    tail = Tail(feed, CONFIG)
    run(tail, 30)
    assert tail.cursor is not None
    assert "cost" in tail.cursor["lists"]["0-59"]
    old: dict[str, Any] = json.loads(json.dumps(tail.cursor))
    for state in old["lists"].values():
        state.pop("cost", None)
    tail.cursor = old
    run(tail, 30)
    drain(tail)
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()


def test_at_ten_cdrs_a_second_short_calls_are_read_within_one_poll_of_showing() -> None:
    """Latency first: with the default tiers and a budget the rate limit affords, every call
    of up to 89 s (unanswered, one-ring, short) is returned by the first poll after the API
    lists it, i.e. within one 10 s poll interval of becoming visible."""
    rng = random.Random(16)
    feed = FakeFeed(now=NOW)
    feed.calls = [
        Call(f"r{i:05d}", NOW + timedelta(seconds=i / 10), rng.choice([0, 5, 30, 45, 60]),
             rng.choice([0, 0, 3, 20, 60, 89, 200]), rng.randint(2, 8))
        for i in range(10 * 240)
    ]  # fmt: skip
    tail = Tail(feed, PollerConfig(start_back_s=600, interval_s=10, per_page=100))
    returned_at: dict[str, datetime] = {}
    for _ in range(30):
        feed.advance(10)
        result = tail.poll()
        assert result is not None
        returned_at |= {key: feed.now for key, _ in result.new_ids}
    short = [
        c for c in feed.calls if c.talk_s <= 89 and c.visible_at <= feed.now - timedelta(seconds=10)
    ]
    late = [
        c.call_id for c in short if returned_at[c.call_id] - c.visible_at > timedelta(seconds=10)
    ]
    assert len(short) > 1500
    assert late == []
