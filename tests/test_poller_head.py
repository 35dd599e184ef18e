"""The head of the feed (calls under 90 s) read split on a busy feed, merged on a quiet one."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from detector.assembly import poller_config
from detector.config import load_settings
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from tests.feed import Call, FakeFeed
from tests.test_poller import CONFIG, NOW, Tail, calls_strategy, normalize

MERGED = "head:0-89"


def head_feed(per_s: float, seconds: int, seed: int) -> FakeFeed:
    """Calls at `per_s` a second from now: unanswered ones ringing 0-60 s, short answered ones
    and a few longer ones, listed 2-8 s after they end."""
    rng = random.Random(seed)
    feed = FakeFeed(now=NOW)
    feed.calls = [
        Call(f"h{i:05d}", NOW + timedelta(seconds=i / per_s), *pick(rng))
        for i in range(int(per_s * seconds))
    ]
    return feed


def pick(rng: random.Random) -> tuple[int, int, int]:
    """Ring, talk and lag seconds of one call."""
    if rng.random() < 0.45:
        return rng.randint(0, 60), 0, rng.randint(2, 8)
    return rng.randint(3, 20), rng.choice([4, 30, 60, 89, 89, 200, 900]), rng.randint(2, 8)


def tail_for(per_s: float, seconds: int = 600) -> tuple[Tail, dict[str, datetime], list[bool]]:
    """Poll a head feed every 10 s with the default tiers; when each call was returned and,
    per poll, whether the merged head list was read."""
    feed = head_feed(per_s, seconds, seed=int(per_s * 10))
    tail = Tail(feed, PollerConfig(start_back_s=600, interval_s=10, per_page=100))
    returned_at: dict[str, datetime] = {}
    merged: list[bool] = []
    for _ in range(seconds // 10):
        feed.advance(10)
        result = tail.poll()
        assert result is not None
        returned_at |= {key: feed.now for key, _ in result.new_ids}
        merged.append(
            tail.cursor is not None and tail.cursor.get("lists", {}).get(MERGED, {}).get("age") == 0
        )
    return tail, returned_at, merged


def late_head_calls(tail: Tail, returned_at: dict[str, datetime]) -> list[str]:
    """Calls under 90 s listed at least a poll ago and not returned by the first poll after."""
    feed = tail.feed
    shown = [
        c for c in feed.calls if c.talk_s < 90 and c.visible_at <= feed.now - timedelta(seconds=10)
    ]
    assert len(shown) > 200
    return [
        c.call_id
        for c in shown
        if c.call_id not in returned_at
        or returned_at[c.call_id] - c.visible_at > timedelta(seconds=10)
    ]


def test_a_quiet_feed_reads_its_head_as_one_merged_list_within_a_poll() -> None:
    """At one call a second the head is read through the merged list at every poll (one
    request a poll, not one per head tier), and every call under 90 s is returned by the
    first poll after it is listed, once."""
    tail, returned_at, merged = tail_for(1.0)
    assert all(merged[len(merged) // 2 :])
    assert late_head_calls(tail, returned_at) == []
    assert len(tail.returned) == len(set(tail.returned))


def test_a_busy_feed_reads_its_head_tiers_split_within_a_poll() -> None:
    """At ten calls a second the unanswered and the short answered tiers are each read at every
    poll (the merged list is not), and every call under 90 s is returned within one poll."""
    tail, returned_at, merged = tail_for(10.0, seconds=300)
    assert not any(merged[len(merged) // 2 :])
    assert late_head_calls(tail, returned_at) == []
    assert len(tail.returned) == len(set(tail.returned))


def test_at_a_60_s_interval_the_daemon_reads_a_head_of_over_50_pages_in_one_cycle() -> None:
    """With only `poll.interval_s: 60` set (and three-row pages, so the head takes more than
    50 pages a poll), every poll of the daemon's poller completes and returns each call under
    90 s by the first poll after it is listed: a fixed 50-page cycle cut the head every poll."""
    overrides = {"poll.interval_s": "60", "poll.per_page": "3"}
    config = poller_config(load_settings(None, overrides, environ={}), None)
    assert config.latency_budget == 150
    feed = head_feed(1.0, 600, seed=60)
    tail = Tail(feed, config)
    returned_at: dict[str, datetime] = {}
    requests = []
    for k in range(8):
        feed.advance(60)
        result = tail.poll()
        assert result is not None
        assert result.complete or k == 0, k  # the first poll only anchors
        returned_at |= {key: feed.now for key, _ in result.new_ids}
        requests.append(result.requests)
    assert max(requests) > 50
    shown = [
        c
        for c in feed.calls
        if c.talk_s < 90 and c.start >= NOW + timedelta(seconds=60) and c.visible_at <= feed.now
    ]
    assert len(shown) > 150
    late = [
        c.call_id
        for c in shown
        if c.call_id not in returned_at
        or returned_at[c.call_id] - c.visible_at > timedelta(seconds=60)
    ]
    assert late == []
    assert len(tail.returned) == len(set(tail.returned))


def test_the_merged_list_never_returns_a_row_below_the_low_water_mark() -> None:
    """A merged read skips rows older than the cursor's low-water mark, whose ids may have
    left `seen`: a quiet feed's first merged page reaches far back, yet no call the tiers
    returned long ago is returned again after its id was forgotten."""
    feed = FakeFeed(now=NOW)
    feed.calls = [
        Call(f"q{i:03d}", NOW + timedelta(seconds=20 * i), 5, (i % 2) * 30, 3) for i in range(150)
    ]
    config = PollerConfig(
        interval_s=10, per_page=100, horizon_s=300, tier_bounds_s=(1, 90), tier_every_s=(300,) * 3
    )
    tail = Tail(feed, config)
    for _ in range(200):
        feed.advance(10)
        assert tail.poll() is not None
    assert tail.cursor is not None
    base = datetime.fromisoformat(tail.cursor["base"])
    old = {c.call_id for c in feed.calls if c.start < base}
    assert len(old) > 20
    assert old <= set(tail.returned)
    tail.committed -= old  # the service forgets committed ids older than the low-water mark
    del tail.cursor["lists"][MERGED]  # the next merged read starts afresh, from page 1
    before = len(tail.returned)
    for _ in range(6):
        feed.advance(10)
        assert tail.poll() is not None
    assert tail.cursor["lists"][MERGED]["age"] == 0  # the merged list was read afresh
    assert not old & set(tail.returned[before:])


def test_an_upgrade_from_one_head_tier_reads_back_from_its_position_not_the_base() -> None:
    """A cursor saved with the head as one tier (0-89) starts the new unanswered and answered
    tiers where that tier stood, a few pages back, not at the cursor's base (a day back with
    the default horizon), and returns every call once across the change."""
    feed = head_feed(1.0, 2400, seed=7)
    old = PollerConfig(
        start_back_s=600, interval_s=10, tier_bounds_s=(90, 300, 900, 2700, 10800),
        tier_every_s=(300, 300, 900, 1800, 3600, 3600),
    )  # fmt: skip
    tail = Tail(feed, old)
    for _ in range(180):
        feed.advance(10)
        assert tail.poll() is not None
    tail.poller = Poller(feed.api(), normalize, PollerConfig(interval_s=10), feed.clock)
    feed.advance(10)
    since = len(feed.requests)
    assert tail.poll() is not None
    head = [r for r in feed.requests[since:] if r.url.params.get("max_duration") in ("0", "89")]
    assert 2 <= len(head) <= 8
    for _ in range(60):
        feed.advance(10)
        assert tail.poll() is not None
    feed.advance(4 * 3600)
    for _ in range(10):
        feed.advance(3600)
        assert tail.poll() is not None
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()


@settings(max_examples=80, deadline=None)
@given(
    calls=calls_strategy,
    burst=st.tuples(
        st.integers(3600, 3600 + 1800),  # during the polls below
        st.lists(
            st.tuples(
                st.integers(0, 120), st.integers(0, 60), st.integers(0, 59), st.integers(0, 60)
            ),
            min_size=10,
            max_size=60,
        ),
    ),
    steps=st.lists(
        st.tuples(
            st.one_of(st.integers(0, 90), st.integers(0, 1800)),
            st.sampled_from([None, None, None, "500", "429", "timeout", "malformed", "fail"]),
        ),
        min_size=1,
        max_size=40,
    ),
    tick=st.integers(0, 30),
    budget=st.sampled_from([2, 3, 50]),
    latency=st.sampled_from([0.0, 1.0, 3.0, 25.0]),
    every=st.sampled_from([(0, 0, 0, 0), (0, 0, 60, 600), (120, 120, 300, 1800)]),
    order=st.sampled_from(["newest", "newest", "newest", "oldest"]),
    upgrade=st.integers(0, 40),
)
def test_a_split_head_read_merged_or_split_returns_every_cdr_exactly_once(
    calls: list[tuple[int, int, int, int]],
    burst: tuple[int, list[tuple[int, int, int, int]]],
    steps: list[tuple[int, str | None]],
    tick: int,
    budget: int,
    latency: float,
    every: tuple[float, float, float, float],
    order: str,
    upgrade: int,
) -> None:
    """Head tiers read merged, split, or switching between the two (a burst of short calls
    makes a quiet feed busy for a while), after an upgrade from one head tier or not, across
    late calls, page shifts, faults, budget cuts and orders: every CDR exactly once."""
    feed = FakeFeed(now=NOW, tick_s=tick, order=order)
    config = replace(
        CONFIG,
        tier_bounds_s=(1, 60, 600),
        tier_every_s=every,
        head_s=60,
        latency_budget=latency,
        max_pages_per_cycle=budget,
    )
    base = NOW - timedelta(hours=1)
    at, short = burst
    feed.calls = [
        Call(f"call-{i:03d}", base + timedelta(seconds=off), ring, talk, lag)
        for i, (off, ring, talk, lag) in enumerate([*calls, *((at + o, *r) for o, *r in short)])
    ]
    old = replace(config, tier_bounds_s=(60, 600), tier_every_s=(every[0], *every[2:]))
    tail = Tail(feed, old if upgrade else config, max_retries=1)
    for k, (advance, fault) in enumerate([*steps, (0, None)]):
        if upgrade and k == min(upgrade, len(steps)):  # the new version starts: head split
            tail.poller = Poller(feed.api(max_retries=1), normalize, config, feed.clock)
        feed.advance(advance)
        feed.inject(fault)
        tail.poll()
    feed.faults.clear()
    for _ in range(60):
        feed.advance(300)
        assert tail.poll() is not None
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()
