"""No silent loss: outages longer than the horizon, reordered pages, kills, poison rows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from detector.errors import RetryableSourceError
from detector.source.rows import PollResult
from detector.source.settings import PollerConfig
from tests.feed import Call, FakeFeed, Fault
from tests.test_poller import Tail

T0 = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
HORIZON_S = 2 * 3600
CONFIG = PollerConfig(
    per_page=5,
    max_ring_s=130,
    max_lag_s=60,
    horizon_s=HORIZON_S,
    tier_bounds_s=(60, 600),
    tier_every_s=(0, 60, 600),
    interval_s=60,
)
SEEN_TTL = timedelta(hours=1)
"""Shorter than the horizon on purpose: only the low-water mark keeps ids long enough."""


class Daemon(Tail):
    """A `Tail` that forgets seen ids the way the service does, and can be killed mid-cycle."""

    def __init__(self, feed: FakeFeed, config: PollerConfig) -> None:
        super().__init__(feed, config, max_retries=0)
        self.at: dict[str, datetime] = {}
        self.newest: datetime | None = None

    def poll(self, commit: bool = True) -> PollResult | None:
        """Poll; commit only when `commit` (a kill loses the cycle), then purge like the service."""
        result = super().poll() if commit else self._discarded()
        if result is None or not commit:
            return result
        for key, at in result.new_ids:
            self.at[key] = at
        starts = [c.start for c in result.cdrs]
        self.newest = max([*starts, *([self.newest] if self.newest else [])], default=None)
        self._purge(result)
        return result

    def _discarded(self) -> PollResult | None:
        try:
            return self.poller.poll(self.cursor, self.seen)
        except RetryableSourceError:
            return None

    def _purge(self, result: PollResult) -> None:
        if self.newest is None:
            return
        cutoff = self.newest - SEEN_TTL
        if result.keep_from is not None:
            cutoff = min(cutoff, result.keep_from)
        for key in [k for k, at in self.at.items() if at < cutoff]:
            self.committed.discard(key)
            del self.at[key]


def long_enough(off: int, ring: int, talk: int, lag: int) -> Call:
    """A call whose start → visible delay stays within the horizon (the poller's promise)."""
    talk = min(talk, HORIZON_S - ring - lag)
    return Call(f"c{off:06d}-{ring}-{talk}", T0 + timedelta(seconds=off), ring, talk, lag)


calls_strategy = st.lists(
    st.builds(
        long_enough,
        st.integers(0, 10 * 3600),
        st.integers(0, 130),
        st.one_of(st.integers(0, 700), st.integers(700, HORIZON_S)),
        st.integers(0, 60),
    ),
    max_size=50,
    unique_by=lambda c: c.call_id,
)
ACTIONS = [None, None, None, "outage", "shuffle", "kill", "500", "poison"]
steps_strategy = st.lists(
    st.tuples(st.integers(0, 3600), st.sampled_from(ACTIONS)), min_size=1, max_size=25
)


def poison(at: datetime, n: int) -> list[tuple[datetime, dict[str, Any]]]:
    """Rows no detector may accept: a year-9999 call, one a year ahead, a 100k-character id."""
    row = {
        "account_auth_id": "MA_FEED0001", "from_number": "+919876500001",
        "to_number": "+919876500002", "direction": "outbound", "status": "answered",
        "duration_seconds": 30,
    }  # fmt: skip
    ahead = at + timedelta(days=365)
    return [
        (at, {**row, "call_uuid": f"p9999-{n}", "start_time": "9999-12-31T23:00:00Z",
              "end_time": "9999-12-31T23:00:30Z"}),
        (at, {**row, "call_uuid": f"pnext-{n}", "start_time": ahead.isoformat(),
              "end_time": (ahead + timedelta(seconds=30)).isoformat()}),
        (at, {**row, "call_uuid": f"{n}" + "x" * 100_000, "start_time": at.isoformat(),
              "end_time": (at + timedelta(seconds=30)).isoformat()}),
    ]  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    calls=calls_strategy,
    steps=steps_strategy,
    kills_first=st.integers(0, 3),
    budget=st.sampled_from([2, 4, 50]),
    start_back=st.sampled_from([0, 3600, 6 * 3600, 12 * 3600]),
    shape=st.sampled_from(["a", "b"]),
    totals=st.sampled_from(["exact", "exact", "flaky"]),
    tick=st.integers(0, 20),
)
def test_outages_reorders_kills_and_poison_never_lose_or_repeat_a_cdr(
    calls: list[Call],
    steps: list[tuple[int, str | None]],
    kills_first: int,
    budget: int,
    start_back: int,
    shape: str,
    totals: str,
    tick: int,
) -> None:
    """Every served CDR from the committed floor on is returned once, whatever happens."""
    feed = FakeFeed(now=T0 + timedelta(hours=10), shape=shape, totals=totals, tick_s=tick)
    feed.calls = calls
    config = replace(CONFIG, max_pages_per_cycle=budget, start_back_s=start_back)
    daemon = Daemon(feed, config)
    for _ in range(kills_first):  # killed before the first commit: nothing anchors
        feed.advance(30)
        daemon.poll(commit=False)
    for n, (advance, action) in enumerate(steps):
        feed.advance(advance)
        if action == "outage":  # the API is unreachable for longer than the horizon
            feed.advance(HORIZON_S + 1800 + advance)
            continue
        if action == "kill":
            daemon.poll(commit=False)
            continue
        if action == "shuffle":  # the first request, or a later one, comes back out of order
            feed.faults.extend([Fault("pass")] * (advance % 4) + [Fault("shuffle")])
        elif action == "500":
            feed.faults.append(Fault("500"))
        elif action == "poison":
            feed.raw_rows += poison(feed.now, n)
        daemon.poll()
    feed.faults.clear()
    drain(daemon)
    assert len(daemon.returned) == len(set(daemon.returned))
    served = {key for key in daemon.returned if not key.startswith(("p", "id:"))}
    assert served == daemon.expected()
    assert all(r.reason != "" for r in daemon.rejected)
    assert not any(c.start.year > 2027 for c in _cdrs(daemon))


def drain(daemon: Daemon) -> None:
    """Poll until every call is visible and every tier has read past it with no gap left."""
    feed = daemon.feed
    last = max((c.visible_at for c in feed.calls), default=feed.now)
    settled = after = 0
    for _ in range(500):
        feed.advance(600)
        assert daemon.poll() is not None
        if feed.now < last + timedelta(seconds=1300):
            continue
        behind = any(word in str(daemon.cursor) for word in ("resume", "sweep"))
        settled, after = (0 if behind else settled + 1), after + 1
        if settled == 4 or after == 60:  # every tier read twice since, or a tiny budget
            return  # always cut by poison that never sinks below a bound: enough rounds
    raise AssertionError("the backlog never finished")


def _cdrs(daemon: Daemon) -> list[Call]:
    return [c for c in daemon.feed.calls if c.call_id in set(daemon.returned)]


def test_an_outage_longer_than_the_horizon_is_read_back_in_full() -> None:
    """After five hours of failed polls every call of those hours is returned, once."""
    feed = FakeFeed(now=T0)
    feed.calls = [
        Call(f"o{i:04d}", T0 + timedelta(seconds=60 * i), talk_s=i % 900) for i in range(400)
    ]
    daemon = Daemon(feed, replace(CONFIG, max_pages_per_cycle=6))
    for _ in range(12):
        feed.advance(60)
        daemon.poll()
    feed.advance(5 * 3600)  # every poll in these five hours failed: none committed
    opened: list[str] = []
    for _ in range(300):
        feed.advance(60)
        result = daemon.poll()
        assert result is not None
        opened += [gap.tier for gap in result.opened]
        if feed.now > T0 + timedelta(hours=10) and result.complete:
            break
    assert opened, "reading five hours back cannot fit one cycle's page budget"
    assert len(daemon.returned) == len(set(daemon.returned))
    assert set(daemon.returned) == daemon.expected()
    assert len(daemon.expected()) == 400


def test_a_reordered_page_keeps_every_tier_position() -> None:
    """A page out of order sends the poller to its fallback without forgetting positions."""
    feed = FakeFeed(now=T0 + timedelta(hours=1))
    feed.calls = [Call(f"r{i:03d}", T0 + timedelta(seconds=30 * i)) for i in range(100)]
    daemon = Daemon(feed, replace(CONFIG, start_back_s=7200))
    for _ in range(5):
        feed.advance(60)
        daemon.poll()
    assert daemon.cursor is not None
    before = json.loads(json.dumps(daemon.cursor["lists"]))
    feed.faults.append(Fault("shuffle"))
    feed.advance(60)
    daemon.poll()
    assert daemon.cursor["order"] == "other"
    assert set(daemon.cursor["lists"]) == set(before)
    for _ in range(20):
        feed.advance(300)
        daemon.poll()
    assert daemon.cursor["order"] == "newest"
    assert len(daemon.returned) == len(set(daemon.returned))
    assert set(daemon.returned) == daemon.expected()


def test_tiers_never_read_before_a_kill_start_at_the_floor() -> None:
    """A first backlog cut by the budget and by kills still reads every tier from the floor."""
    feed = FakeFeed(now=T0 + timedelta(hours=8))
    feed.calls = [
        Call(f"k{i:04d}", T0 + timedelta(seconds=140 * i), talk_s=(i * 37) % 1200)
        for i in range(200)
    ]
    daemon = Daemon(feed, replace(CONFIG, start_back_s=8 * 3600, max_pages_per_cycle=3))
    for n in range(150):
        feed.advance(20)
        daemon.poll(commit=n % 3 != 2)
    drain(daemon)
    assert len(daemon.returned) == len(set(daemon.returned))
    assert set(daemon.returned) == daemon.expected()
    assert len(daemon.expected()) == 200
