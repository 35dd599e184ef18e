"""Trunk webhooks: refused unless signed, fresh, first and small; counted once with the poll."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.attempts import AttemptMonitor, AttemptRules
from detector.config import ModelSettings
from detector.http import HttpServer
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import StateStore
from detector.webhooks.ingest import WebhookIngest, WebhookSettings
from detector.webhooks.intake import Intake
from detector.webhooks.signature import sign
from tests.daemon import ROOT, processed
from tests.feed import Call, FakeFeed
from tests.test_reload import Log

SECRET = b"trunk-signing-secret"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def body(event: str, call: Call, feed: FakeFeed, **extra: Any) -> bytes:
    """A webhook body for `call`: its API row as the event's data."""
    at = call.end if event == "Hangup" else call.start
    data = {**feed.render(call), **extra}
    return json.dumps({"event": event, "timestamp": at.isoformat(), "data": data}).encode()


def post(
    ingest: WebhookIngest, raw: bytes, *, signature: str | None = None, request_id: str = ""
) -> int:
    """Hand one request to the receiver as a WSGI call; the HTTP status code."""
    from io import BytesIO

    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/vobiz", "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": BytesIO(raw),
        "HTTP_X_VOBIZ_SIGNATURE": sign(SECRET, raw) if signature is None else signature,
        "HTTP_X_VOBIZ_REQUEST_ID": request_id or str(uuid.uuid4()),
    }  # fmt: skip
    status: list[str] = []
    ingest(environ, lambda line, _headers: status.append(line))
    return int(status[0].split()[0])


class Daemon:
    """A real Service over a fake feed with the webhook intake on; clocks are the feed's."""

    def __init__(self, tmp: Path, feed: FakeFeed) -> None:
        self.feed = feed
        self.counts: Counter[str] = Counter()
        self.ingest = WebhookIngest(
            SECRET,
            WebhookSettings(window_s=900),
            count=lambda o: self.counts.update([o]),
            clock=feed.epoch,
        )
        self.store = StateStore(tmp / "state.sqlite")
        self.state = tmp / "state.sqlite"
        config = PollerConfig(per_page=10, start_back_s=3600, max_pages_per_cycle=40)
        self.service = Service(
            poller=Poller(feed.api(), normalize, config, feed.clock),
            detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
            model=None, store=self.store, delivery=Delivery(self.store.outbox(), {}),
            metrics=Metrics(), receivers=[], rules_dir=ROOT / "rules", interval_s=10.0,
            seen_ttl=timedelta(days=1), log=Log(), clock=feed.epoch,
            hooks=Intake(self.ingest, normalize, AttemptMonitor(AttemptRules())),
        )  # fmt: skip

    def poll(self) -> None:
        """One poll cycle a minute of feed time later (webhooks queued meanwhile fold in)."""
        self.feed.advance(60)
        assert self.service.cycle() is not None, self.service.health.last_error

    def close(self) -> None:
        """Close the state file."""
        self.store.close()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon whose feed has one anchor call, polled once (the floor is committed)."""
    feed = FakeFeed(now=T0 + timedelta(minutes=2))
    feed.calls = [Call("anchor", T0)]
    d = Daemon(tmp_path, feed)
    d.poll()
    yield d
    d.close()


def test_forged_replayed_stale_and_oversized_requests_are_refused_and_counted(
    daemon: Daemon,
) -> None:
    """A bad signature is 401, a replayed request id 200 but not queued, a stale event 400,
    an oversized body 413; each is counted by outcome and only the genuine one is queued."""
    feed, ingest = daemon.feed, daemon.ingest
    call = Call("c-1", feed.now - timedelta(seconds=40))
    good = body("Hangup", call, feed)
    assert post(ingest, good, request_id="r-1") == 202
    assert post(ingest, good, request_id="r-1") == 200  # the same delivery again
    assert post(ingest, good, signature="00" * 32) == 401
    assert post(ingest, good, signature="") == 401
    old = Call("c-2", feed.now - timedelta(hours=2))
    assert post(ingest, body("Hangup", old, feed)) == 400
    assert post(ingest, body("Hangup", call, feed, note="x" * 70_000)) == 413
    assert post(ingest, b"not json at all") == 400
    assert daemon.counts == Counter(
        accepted=1, duplicate=1, bad_signature=2, stale=1, too_large=1, malformed=1
    )
    assert [r.event.row["call_uuid"] for r in ingest.drain()] == ["c-1"]


def test_the_receiver_answers_over_real_http_on_its_own_listener(daemon: Daemon) -> None:
    """Served by waitress on loopback, a signed Hangup is 202 and an unsigned one 401."""
    server = HttpServer(Metrics(), dict, lambda: (True, "ok"), app=daemon.ingest)
    host, port = server.start("127.0.0.1", 0)
    try:
        raw = body("Hangup", Call("c-9", daemon.feed.now - timedelta(seconds=50)), daemon.feed)
        url = f"http://{host}:{port}/webhooks/vobiz"
        headers = {"X-Vobiz-Request-ID": "r-9", "Content-Type": "application/json"}
        signed = {**headers, "X-Vobiz-Signature": "sha256=" + sign(SECRET, raw)}
        assert httpx.post(url, content=raw, headers=signed, timeout=5).status_code == 202
        assert httpx.post(url, content=raw, headers=headers, timeout=5).status_code == 401
    finally:
        server.stop()


ORDERS = st.sampled_from(["before", "after", "twice", "none", "between"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(orders=st.lists(ORDERS, min_size=1, max_size=12))
def test_a_webhook_and_the_polled_copy_count_once_in_any_order(
    tmp_path_factory: pytest.TempPathFactory, orders: list[str]
) -> None:
    """Hangups before the poll, after it, twice, never, or between two polls: every call is
    counted once, by whichever copy came first."""
    feed = FakeFeed(now=T0 + timedelta(minutes=2))
    feed.calls = [Call("anchor", T0)]
    daemon = Daemon(tmp_path_factory.mktemp("order"), feed)
    try:
        daemon.poll()
        calls = [Call(f"w{i}", feed.now - timedelta(seconds=45)) for i in range(len(orders))]
        feed.calls += calls
        for call, order in zip(calls, orders, strict=True):
            if order in {"before", "twice"}:
                post(daemon.ingest, body("Hangup", call, feed))
            if order == "twice":
                post(daemon.ingest, body("Hangup", call, feed))  # a retry with a new request id
        daemon.poll()
        for call, order in zip(calls, orders, strict=True):
            if order in {"after", "twice"}:
                post(daemon.ingest, body("Hangup", call, feed))
            if order == "between":
                post(daemon.ingest, body("Hangup", call, feed))
                daemon.service.hook_cycle()
        daemon.poll()
        daemon.poll()
        assert processed(daemon.state) == 1 + len(calls)
        assert daemon.store.early([c.call_id for c in calls]) == set()
    finally:
        daemon.close()


def test_a_webhook_outage_loses_nothing(daemon: Daemon) -> None:
    """With every webhook lost, the poller still brings every call, once."""
    feed = daemon.feed
    feed.calls += [Call(f"q{i}", feed.now + timedelta(seconds=5 * i)) for i in range(30)]
    for _ in range(6):
        daemon.poll()
    assert processed(daemon.state) == 31


def test_a_hangup_is_processed_before_the_poller_lists_it(daemon: Daemon) -> None:
    """A Hangup queued between polls is committed by a cycle of its own, at once."""
    feed = daemon.feed
    call = Call("early-1", feed.now - timedelta(seconds=30), lag_s=3600)  # listed an hour late
    feed.calls.append(call)
    post(daemon.ingest, body("Hangup", call, feed))
    daemon.service.hook_cycle()
    assert processed(daemon.state) == 2
    feed.advance(3600)
    daemon.poll()
    daemon.poll()
    assert processed(daemon.state) == 2
