"""Calls as long as the platform allows are read exactly once; longer ones late, never lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from detector.source.settings import PollerConfig
from tests.feed import Call, FakeFeed, Fault
from tests.test_poller_faults import CONFIG as FAULTS_CONFIG
from tests.test_poller_faults import Daemon, drain

T0 = datetime(2026, 3, 25, 0, 0, tzinfo=UTC)
H = 7200
EVERY = 300
"""Seconds between polls: calls are made to become visible just before, at or after one."""
CONFIG = replace(FAULTS_CONFIG, horizon_s=H, start_back_s=4 * H, max_pages_per_cycle=6)


def call(n: int, poll: int, offset: int, talk: int, ring: int, lag: int) -> Call:
    """A call that becomes visible `offset` s from poll number `poll` (a tier read)."""
    visible = T0 + timedelta(seconds=3 * H + poll * EVERY + offset)
    start = visible - timedelta(seconds=lag + ring + talk)
    return Call(f"h{n:03d}-{talk}", start, ring, talk, lag)


TALK = st.one_of(
    st.sampled_from([0, 59, 60, 599, 600, H - 1, H]),  # the tier edges and the horizon itself
    st.integers(0, H),
    st.integers(H + 1, 2 * H),  # beyond the horizon: read late, still once
)
calls_strategy = st.lists(
    st.tuples(
        st.integers(0, 40),
        st.sampled_from([-1, 0, 1]),
        TALK,
        st.integers(0, 130),
        st.integers(0, 60),
    ),
    max_size=40,
).map(lambda specs: [call(n, *spec) for n, spec in enumerate(specs)])
ACTIONS = st.lists(st.sampled_from([None, None, None, "kill", "500", "timeout"]), max_size=45)


@settings(max_examples=60, deadline=None)
@given(calls=calls_strategy, actions=ACTIONS, shape=st.sampled_from(["a", "b"]))
def test_calls_up_to_the_horizon_and_beyond_it_are_returned_exactly_once(
    calls: list[Call], actions: list[str | None], shape: str
) -> None:
    """Calls of every length up to the horizon, visible just before, at and after a poll,
    under faults and kills, are each returned once; calls longer than the horizon too."""
    feed = FakeFeed(now=T0 + timedelta(seconds=3 * H), shape=shape)
    feed.calls = [Call("anchor", T0, 0, 0, 0), *calls]
    daemon = Daemon(feed, CONFIG)
    for action in actions:
        feed.advance(EVERY)
        if action == "kill":
            daemon.poll(commit=False)
            continue
        if action is not None:
            feed.faults.append(Fault(action))
        daemon.poll()
    drain(daemon)
    assert len(daemon.returned) == len(set(daemon.returned))
    assert set(daemon.returned) == daemon.expected()


def test_a_twelve_hour_call_is_read_once_with_the_default_horizon() -> None:
    """With the defaults (a 24 h horizon) a 12-hour call is returned once, within its tier's
    cadence of ending, through a kill and a failed poll."""
    feed = FakeFeed(now=T0)
    long = Call("twelve-hours", T0 + timedelta(minutes=5), ring_s=8, talk_s=12 * 3600)
    short = [Call(f"s{i:03d}", T0 + timedelta(minutes=10 * i), talk_s=40) for i in range(90)]
    feed.calls = [Call("anchor", T0 - timedelta(minutes=1)), long, *short]
    daemon = Daemon(feed, PollerConfig(start_back_s=3600, interval_s=600))
    for n in range(6 * 14):
        feed.advance(600)
        if n == 40:
            daemon.poll(commit=False)
        elif n == 41:
            feed.faults.append(Fault("500"))
            daemon.poll()
        else:
            daemon.poll()
        if n == 6 * 12 + 7:  # an hour and a quarter after the call ended
            assert "twelve-hours" in daemon.returned
    drain(daemon)
    assert daemon.returned.count("twelve-hours") == 1
    assert set(daemon.returned) == daemon.expected()


def test_a_call_longer_than_the_horizon_is_counted_as_beyond_it() -> None:
    """A call past the horizon is returned (late) and reported in `beyond`, once."""
    feed = FakeFeed(now=T0 + timedelta(seconds=3 * H))
    feed.calls = [Call("anchor", T0, 0, 0, 0), call(1, 2, 0, 2 * H, 5, 5)]
    daemon = Daemon(feed, CONFIG)
    beyond: list[str] = []
    for _ in range(30):
        feed.advance(EVERY)
        result = daemon.poll()
        assert result is not None
        beyond += [cdr.call_id for cdr in result.beyond]
    assert beyond == [f"h001-{2 * H}"]
    assert daemon.returned.count(f"h001-{2 * H}") == 1
