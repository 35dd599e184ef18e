"""A tier read's count stop on a busy feed: rows listed mid-read above the page being read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from detector.source.client import Page
from detector.source.scan import Scan
from tests.feed import Call, FakeFeed
from tests.test_poller import CONFIG, NOW, Tail

ONE_TIER = replace(CONFIG, tier_bounds_s=(), tier_every_s=(0,), horizon_s=600, head_s=0)
"""One list for every call, read at every poll: the read under test is the only one."""


def busy_feed(spacing_s: float, calls: int, tick_s: float) -> FakeFeed:
    """Calls every `spacing_s` for `calls` calls up to NOW + 10 min, each listed 5 s after it
    ends; each request lets `tick_s` pass, so rows are listed while a read pages down."""
    feed = FakeFeed(now=NOW, tick_s=tick_s)
    first = NOW + timedelta(minutes=10) - timedelta(seconds=spacing_s * calls)
    feed.calls = [
        Call(f"c{i:04d}", first + timedelta(seconds=spacing_s * i), ring_s=5, talk_s=20, lag_s=5)
        for i in range(calls)
    ]
    return feed


def caught_up(tail: Tail, feed: FakeFeed, step_s: float, polls: int = 40) -> None:
    """Poll `polls` more times, `step_s` apart; then every visible CDR due was returned, once."""
    for _ in range(polls):
        feed.advance(step_s)
        assert tail.poll() is not None
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == {c.call_id for c in feed.visible() if c.call_id in tail.expected()}


def test_rows_listed_mid_read_do_not_send_reads_to_their_time_bound() -> None:
    """On a feed that lists a row per request, reads stop once their new rows are counted."""
    feed = busy_feed(spacing_s=1, calls=1200, tick_s=0)
    feed.now = NOW - timedelta(minutes=5)
    tail = Tail(feed, replace(ONE_TIER, start_back_s=900, max_pages_per_cycle=1000))
    tail.poll()
    tail.poll()
    feed.tick_s = 1
    for _ in range(5):  # the first read meets rows listed above it (u), the later ones also
        feed.advance(30)  # rows the read before them found mid-read (e)
        result = tail.poll()
        assert result is not None
        assert result.complete
        # ~40 rows owed, a row listed per request: ~12 pages of 5; the time bound lies
        # 30 s + 130 + 600 + 60 s back, ~160 pages down
        assert result.requests <= 14, result.requests
    caught_up(tail, feed, step_s=30)


def test_rows_a_read_found_mid_read_are_not_owed_by_the_next() -> None:
    """A row listed mid-read below the page being read is found then, and the next read,
    whose count no longer includes it, stops at its own new rows and misses none of them."""
    feed = FakeFeed(now=NOW)
    old = [Call(f"old{i:03d}", NOW - timedelta(seconds=700 - 5 * i)) for i in range(100)]
    feed.calls = list(old)
    tail = Tail(feed, replace(ONE_TIER, start_back_s=900, max_pages_per_cycle=1000))
    tail.poll()
    tail.poll()
    at = NOW

    def quick(name: str, start_s: int, talk_s: int = 1) -> Call:
        return Call(name, at + timedelta(seconds=start_s), ring_s=1, talk_s=talk_s, lag_s=0)

    feed.calls += [quick(f"a{i:02d}", -4 - 2 * i) for i in range(12)]  # 12 new, 5 a page
    feed.calls.append(quick("x", -15, talk_s=16))  # listed at the 2nd request, on page 2
    feed.tick_s = 1
    first = tail.poll()
    assert first is not None
    assert {c.call_id for c in first.cdrs} == {f"a{i:02d}" for i in range(12)} | {"x"}
    feed.tick_s = 0
    feed.calls += [quick(f"b{i}", 1 + 2 * i) for i in range(6)]  # page 1 and one row of page 2
    feed.advance(20)
    second = tail.poll()
    assert second is not None
    assert sorted(c.call_id for c in second.cdrs) == [f"b{i}" for i in range(6)]
    assert second.requests == 3  # pages 1 and 2, and the empty beyond-horizon list
    for _ in range(3):
        feed.advance(60)
        assert tail.poll() is not None
    assert sorted(tail.returned) == sorted(c.call_id for c in feed.calls)


@settings(max_examples=40, deadline=None)
@given(
    spacing=st.sampled_from([0.5, 1.0, 3.0]),
    tick=st.sampled_from([0.5, 1.0, 2.0, 5.0]),
    lags=st.lists(st.integers(0, 60), min_size=1, max_size=7),
    talks=st.lists(st.integers(0, 500), min_size=1, max_size=5),
    advances=st.lists(st.integers(1, 90), min_size=3, max_size=12),
)
def test_a_busy_feed_is_read_exactly_once(
    spacing: float, tick: float, lags: list[int], talks: list[int], advances: list[int]
) -> None:
    """Rows listed during reads, above and below the page being read: every one once."""
    feed = FakeFeed(now=NOW, tick_s=tick)
    count = int(240 / spacing)
    start = NOW - timedelta(minutes=2)
    feed.calls = [
        Call(
            f"c{i:04d}",
            start + timedelta(seconds=spacing * i),
            ring_s=5,
            talk_s=talks[i % len(talks)],
            lag_s=lags[i % len(lags)],
        )
        for i in range(count)
    ]
    tail = Tail(feed, replace(CONFIG, start_back_s=120))
    for advance in advances:
        feed.advance(advance)
        assert tail.poll() is not None
    for _ in range(12):
        feed.advance(120)
        assert tail.poll() is not None
    assert len(tail.returned) == len(set(tail.returned))
    assert set(tail.returned) == tail.expected()


def _page(number: int, starts: list[int], size: int = 5, ids: bool = True) -> Page:
    """A page of rows starting `starts` seconds after NOW (ids from the start unless not)."""
    rows: list[object] = []
    for s in starts:
        row = {"start_time": (NOW + timedelta(seconds=s)).isoformat(), "talk": s}
        rows.append({**row, "call_uuid": f"u{s}"} if ids else row)
    return Page(rows, number, size, 100, True, "a")


def test_rows_never_met_above_the_last_page_are_counted() -> None:
    """Two rows listed at the top before each of pages 2 and 3: the read never met 4."""
    scan = Scan(5, 100, 90)
    scan.add(_page(1, [50, 49, 48, 47, 46]))
    scan.add(_page(2, [47, 46, 45, 44, 43]))  # 47 and 46 pushed down two places
    last = _page(3, [44, 43, 42, 41, 40])
    scan.add(last)
    assert scan.unread_above(last, 3) == 4


def test_the_count_of_rows_never_met_trusts_only_call_ids_and_full_pages() -> None:
    """Hash-keyed rows give no credit, and a short earlier page lowers the page size used."""
    hashed = Scan(5, 100, 90)
    hashed.add(_page(1, [50, 49, 48, 47, 46], ids=False))
    last = _page(2, [30, 29, 28, 27, 26])
    hashed.add(last)
    assert hashed.unread_above(last, 2) == 0
    short = Scan(5, 100, 90)
    short.add(_page(1, [50, 49, 48]))  # an API that pages by 3 rows whatever we ask
    last = _page(2, [30, 29, 28])
    short.add(last)
    assert short.unread_above(last, 2) == 0  # 3 rows above, all met: 5 - 3 would claim 2


def test_a_backlog_on_a_busy_feed_is_read_at_about_a_page_per_request() -> None:
    """Resuming a cut scan `workers` pages at a time, rows listed between the requests of a
    batch no longer throw the batch away: the backlog's pages cost about a request each."""
    feed = busy_feed(spacing_s=1, calls=3600, tick_s=0)
    feed.now = NOW - timedelta(minutes=40)
    config = replace(ONE_TIER, start_back_s=900, max_pages_per_cycle=12, workers=4)
    tail = Tail(feed, config)
    tail.poll()  # anchors 15 minutes back, before the feed's first call: 600 rows to read
    feed.tick_s = 0.25  # a row listed every 4 requests
    requests, polls = 0, 0
    while True:
        result = tail.poll()
        assert result is not None
        requests, polls = requests + result.requests, polls + 1
        if result.complete:
            break
        assert polls < 100, requests  # it used to take about 5 requests a page, and more polls
    # 120 pages of 5: about 130 requests when the threads answer a batch in page order; at
    # least its first page of every 4 is kept whatever the order (a loaded machine: 158 seen)
    assert requests <= 600, (requests, polls)
    feed.tick_s = 0
    caught_up(tail, feed, step_s=10)


def test_a_backlog_without_totals_is_resumed_a_page_per_request() -> None:
    """With no totals in the answers a batch could keep only its first page, so a resumed
    scan asks for one page at a time: 120 requests return most of the backlog's 600 rows."""
    feed = busy_feed(spacing_s=1, calls=3600, tick_s=0)
    feed.totals = "none"
    feed.now = NOW - timedelta(minutes=40)
    config = replace(ONE_TIER, start_back_s=900, max_pages_per_cycle=12, workers=4)
    tail = Tail(feed, config)
    tail.poll()
    feed.tick_s = 0.25
    requests = 0
    for _ in range(10):
        result = tail.poll()
        assert result is not None
        requests += result.requests
    assert requests == 120
    assert len(tail.returned) >= 400  # batches of 4 keeping 1 page returned 166
    assert len(tail.returned) == len(set(tail.returned))
