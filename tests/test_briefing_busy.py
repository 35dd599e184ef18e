"""A busy account's briefing: the newest pages first, a first look that covers the alert's
window and a few hours of its normal, then the rest of the day in later turns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from detector.alerting.briefer import FIRST_PAGES, Briefer, Page
from detector.alerting.briefing import Scope
from detector.alerting.grouping import Message
from detector.alerting.mail import email_html
from detector.alerting.masking import Masker
from detector.alerting.notification import NoticeMaker
from detector.alerting.notifiers.email import build_message
from detector.investigate.reader import Reader
from detector.source.normalize import normalize
from tests.feed import Call, FakeFeed, Fault
from tools import goldens

AT = datetime(2026, 3, 5, 8, 38, 22, tzinfo=UTC)
ACCOUNT = "MA_FEED0001"
EVERY_S = 14.4
"""One call every 14.4 s: 6,000 calls a day, 60 pages of 100."""
SCOPE = Scope("outbound", None, "spend")
RULE = next(r for r in goldens.ruleset().rules if r.id == "irsf-spend-velocity-5m")


def busy_feed(every_s: float = EVERY_S, hours: float = 30, **options: Any) -> FakeFeed:
    """A feed of `hours` of one busy account's calls up to `AT` (a minute after it)."""
    first = AT - timedelta(hours=hours)
    calls = [
        Call(f"c-{i:06d}", first + timedelta(seconds=i * every_s), ring_s=4, talk_s=20 + i % 90)
        for i in range(int(hours * 3600 / every_s))
    ]
    return FakeFeed(now=AT + timedelta(minutes=1), calls=calls, **options)


def reader_of(feed: FakeFeed) -> Reader:
    """A `Reader` over the fake API."""
    return Reader(feed.api(), normalize)


def span_ids(feed: FakeFeed, since: datetime, until: datetime) -> set[str]:
    """The calls started in [since, until] that the API lists now."""
    return {c.call_id for c in feed.visible() if since <= c.start <= until}


def test_recent_reads_only_the_pages_back_to_the_start() -> None:
    """Two hours back on a 60-page day cost a handful of requests and give the span whole."""
    feed = busy_feed()
    since, until = AT - timedelta(hours=2), AT
    pages = list(reader_of(feed).recent(ACCOUNT, since, until))
    ids = [c.call_id for p in pages for c in p.cdrs]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == span_ids(feed, since, until)
    assert len(feed.requests) <= 7
    last = pages[-1].whole_from
    assert last is not None
    assert last < since


@pytest.mark.parametrize("order", ["oldest", "shuffled"])
def test_recent_stays_whole_when_the_list_is_not_newest_first(order: str) -> None:
    """Out of order, a day is read to its end and promised only when whole: nothing missed."""
    feed = busy_feed(order="oldest" if order == "oldest" else "newest")
    if order == "shuffled":
        feed.faults.append(Fault("pass"))
        feed.faults.append(Fault("shuffle"))
    since, until = AT - timedelta(hours=2), AT
    pages = list(reader_of(feed).recent(ACCOUNT, since, until))
    ids = [c.call_id for p in pages for c in p.cdrs]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == span_ids(feed, since, until)
    promised = [p.whole_from for p in pages if p.whole_from is not None]
    assert promised[-1] == datetime(2026, 3, 5, tzinfo=UTC)
    assert len(feed.requests) >= 22
    if order == "oldest":
        assert len(promised) == 1


def test_recent_misses_nothing_while_new_calls_push_rows_down() -> None:
    """Calls arriving between page requests repeat rows (dropped) and never hide one."""
    feed = busy_feed(tick_s=30.0)
    later = [Call(f"n-{i:04d}", AT + timedelta(seconds=i), ring_s=1, talk_s=2) for i in range(600)]
    feed.calls += later
    since, until = AT - timedelta(hours=3), AT
    wanted = span_ids(feed, since, until)
    ids = [c.call_id for p in reader_of(feed).recent(ACCOUNT, since, until) for c in p.cdrs]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == wanted


def briefer_of(feed: FakeFeed) -> Briefer:
    """A briefer reading the fake API through `Reader.recent`."""
    reader = reader_of(feed)

    def calls_of(account: str, since: datetime, until: datetime) -> Iterator[Page]:
        return ((p.cdrs, p.whole_from) for p in reader.recent(account, since, until))

    return Briefer(calls_of, lambda rule: SCOPE, Masker())


def alert(fingerprint: str = "fp-busy") -> dict[str, Any]:
    """A 5-minute spend alert of the busy account at `AT`."""
    made_up = goldens.made_up_alert(RULE)
    at = AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**made_up, "fingerprint": fingerprint, "account": ACCOUNT, "at": at}


def test_the_first_look_has_the_facts_and_a_chart_after_a_few_pages() -> None:
    """The first turn reads ~7 of ~61 pages: the first notice has the window's facts and a chart."""
    feed = busy_feed()
    briefer = briefer_of(feed)
    assert briefer.submit(alert())
    assert briefer.run_once(0.1)
    first = briefer.briefing("fp-busy", "firing")
    assert first is not None
    assert first.series is not None
    window = span_ids(feed, AT - timedelta(seconds=RULE.window), AT)
    assert first.calls == len(window) > 0
    assert first.currency == "INR"
    assert 2 <= first.series.hours <= 3
    assert first.usual is not None
    assert len(feed.requests) <= 9
    notice = NoticeMaker(briefer=briefer)(Message("d:1", "g", "email", {}, [alert()]))
    email = build_message(notice, "a@example.com", ["b@example.com"])
    assert [p.get_content_type() for p in email.walk()].count("image/png") == 1
    assert "Destinations" in email_html(notice)
    while briefer.run_once(0.01):
        pass
    whole = briefer.briefing("fp-busy", "firing")
    assert whole is not None
    assert whole.series is not None
    assert whole.series.hours == 24
    assert whole.calls == first.calls
    assert whole.account_calls == first.account_calls
    assert len(feed.requests) >= 55


def test_the_busiest_accounts_first_look_stops_after_its_page_budget() -> None:
    """At 57,600 calls a day the first look reads 15 pages: the window whole, under an hour."""
    feed = busy_feed(every_s=1.5, hours=4)
    briefer = briefer_of(feed)
    briefer.submit(alert())
    briefer.run_once(0.1)
    first = briefer.briefing("fp-busy", "firing")
    assert first is not None
    assert first.series is not None
    assert len(feed.requests) == FIRST_PAGES
    assert first.calls == len(span_ids(feed, AT - timedelta(seconds=RULE.window), AT))
    assert first.series.hours <= 1


def test_a_new_alert_gets_its_first_look_before_an_older_alerts_rest() -> None:
    """New alerts go first: the second alert is briefed while the first's day is still partial."""
    feed = busy_feed()
    briefer = briefer_of(feed)
    briefer.submit(alert("fp-a"))
    briefer.run_once(0.1)
    briefer.submit(alert("fp-b"))
    briefer.run_once(0.1)
    a, b = briefer.briefing("fp-a", "firing"), briefer.briefing("fp-b", "firing")
    assert a is not None
    assert a.series is not None
    assert a.series.hours < 24
    assert b is not None
    assert b.series is not None
    assert b.calls > 0
    assert b.series.hours <= 3


def test_a_page_that_fails_after_the_first_look_keeps_the_partial_briefing() -> None:
    """An API outage in the rest of the day leaves the first look's briefing in place."""
    feed = busy_feed()
    briefer = briefer_of(feed)
    briefer.submit(alert())
    briefer.run_once(0.1)
    feed.faults.extend(Fault("500") for _ in range(10))
    while briefer.run_once(0.01):
        pass
    kept = briefer.briefing("fp-busy", "firing")
    assert kept is not None
    assert kept.series is not None
    assert kept.series.hours < 24
