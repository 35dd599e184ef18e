"""Delivery on its own task: real SQLite outbox, real local HTTP receivers, a settable clock.

Couriers are driven step by step (`Courier.step`) where the clock matters, and as threads
(`Delivery`, `Service.run`) where the point is that nothing waits for anything else.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from detector.alerting.delivery import Courier, Delivery, Pacing, backoff
from detector.alerting.grouping import Message
from detector.alerting.notification import NoticeMaker
from detector.alerting.notifiers import Notifier, SlackNotifier, WebhookNotifier
from detector.alerting.receivers import build_receivers
from detector.assembly import build_detector
from detector.config import ModelSettings, Settings
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.outbox import Envelope, Outbox
from detector.state.store import StateStore
from tests.daemon import ROOT, wait_for
from tests.feed import FakeFeed
from tests.receivers import HttpReceiver, http_receiver  # noqa: F401 - fixture
from tests.test_outbox import episode
from tests.test_reload import Log


class Clock:
    """A settable clock (seconds); `sleep` advances it, as a courier's pacing would wait."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    """A fresh state file."""
    s = StateStore(tmp_path / "state.sqlite")
    yield s
    s.close()


@pytest.fixture
def box(store: StateStore) -> Iterator[Outbox]:
    """The delivery side's handle on the state file."""
    b = store.outbox()
    yield b
    b.close()


def queue(store: StateStore, receivers: list[str], now: float, copies: int = 1) -> None:
    """Queue `copies` episodes (3 notices each, one per alert, distinct keys) for `receivers`."""
    rows = []
    for n in range(copies):
        for a in episode():
            delivery_id = f"{a.delivery_id}-{n}"
            message = Message(delivery_id, f"g{n}", "r", {}, [a.to_json()])
            payload = NoticeMaker()(message).to_json()
            rows += [Envelope(delivery_id, r, f"{a.fingerprint}{n}", payload) for r in receivers]
    with store.outbox() as box:
        box.enqueue(rows, now)


def courier(notifier: Notifier, box: Outbox, clock: Clock, **pacing: Any) -> Courier:
    """A courier on a fixed clock whose pacing sleeps advance that clock."""
    return Courier(notifier, box, Pacing(**pacing), clock=clock, sleep=clock.sleep)


def drain(c: Courier) -> None:
    """Step until the courier finds nothing due (each step sends what was due when it began)."""
    for _ in range(100):
        if c.step() > 0 or c.idle:
            return
    raise AssertionError("the courier never went idle")


def test_outage_delays_but_delivers_each_alert_once_in_order(
    store: StateStore,
    box: Outbox,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """500, then 429 (Retry-After 30), then 200: each alert is delivered once, in order."""
    http_receiver.script((500, {}, "down"), (429, {"Retry-After": "30"}, "slow"), (200, {}, "ok"))
    clock = Clock()
    queue(store, ["slack"], clock.now)
    c = courier(SlackNotifier(f"{http_receiver.url}/services/T/B/tok"), box, clock)
    assert c.step() == backoff(0), "the receiver rests for the backoff after a 500"
    assert c.step() > 0, "still resting"
    assert len(http_receiver.requests) == 1, "nothing is sent while it rests"
    clock.now += backoff(0)
    assert c.step() == 30.0, "Retry-After 30 s is honoured for the whole receiver"
    clock.now += 30
    drain(c)
    assert box.pending() == {}
    delivered = [r.json()["blocks"][-1]["elements"][0]["text"] for r in http_receiver.requests[2:]]
    assert delivered == [f"delivery {a.delivery_id}-0" for a in episode()]


def test_a_backlog_is_paced_by_the_token_bucket(
    store: StateStore,
    box: Outbox,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """Nine rows at 2/s with a burst of 3: three at once, then one every half second."""
    clock = Clock()
    queue(store, ["webhook"], clock.now, copies=3)
    c = courier(WebhookNotifier(f"{http_receiver.url}/hook"), box, clock, rate_per_s=2, burst=3)
    drain(c)
    assert len(http_receiver.requests) == 9
    assert clock.slept == [0.5] * 6


def test_bad_request_is_dead_lettered_and_logged(
    store: StateStore,
    box: Outbox,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """A 400 dead-letters the row: counted, logged, never retried."""
    http_receiver.script((400, {}, "invalid_payload"))
    clock, counted = Clock(), []
    queue(store, ["webhook"], 1.0)
    c = Courier(
        WebhookNotifier(f"{http_receiver.url}/hook"), box, clock=clock, sleep=clock.sleep,
        record=lambda r, o, n: counted.append((r, o, n)),
    )  # fmt: skip
    with capture_logs() as logs:
        drain(c)
    assert counted == [("webhook", "dead", 1)] * 3
    assert {e["event"] for e in logs} == {"delivery refused; dead-lettered"}
    clock.now += 10_000
    drain(c)
    assert len(http_receiver.requests) == 3, "each of the 3 was tried once, none again"
    assert box.dead() == {"webhook": 3}
    assert box.dead_letters()[0]["error"].startswith("webhook: HTTP 400")


class Exploding:
    """A notifier whose HTTP client blows up with a message holding the secret URL."""

    name = "slack"

    def send(self, alert_json: Mapping[str, Any]) -> None:
        raise httpx.InvalidURL("Invalid URL 'https://hooks.example/T/B/very-secret'")


def test_an_unexpected_notifier_error_dead_letters_without_leaking(
    store: StateStore, box: Outbox
) -> None:
    """An exception nobody planned for dead-letters the row, and its text (a URL) is withheld."""
    clock = Clock()
    queue(store, ["slack"], clock.now)
    c = courier(Exploding(), box, clock)
    with capture_logs() as logs:
        drain(c)
    assert box.dead() == {"slack": 3}
    text = repr(logs) + repr(box.dead_letters())
    assert "InvalidURL" in text
    assert "very-secret" not in text


def test_a_broken_receiver_url_dead_letters_that_receiver_and_others_deliver(
    store: StateStore,
    box: Outbox,
    http_receiver: HttpReceiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A malformed Slack URL disables Slack (logged, its rows dead); the webhook gets everything."""
    monkeypatch.setenv("CDR_DETECTOR_SLACK_WEBHOOK", "https://hooks.slack.com/T/B/x\n")
    monkeypatch.setenv("CDR_DETECTOR_WEBHOOK_URL", f"{http_receiver.url}/hook")
    log = Log()
    notifiers = build_receivers(Settings(), log)
    assert ("error", "receiver disabled; its notifications will be dead-lettered") in [
        e[:2] for e in log.events
    ]
    counted: list[tuple[str, str, int]] = []
    delivery = Delivery(box, notifiers, record=lambda r, o, n: counted.append((r, o, n)))
    queue(store, sorted(notifiers), 1.0)
    delivery.start()
    try:
        assert delivery.settle(30)
    finally:
        delivery.stop()
    assert box.dead() == {"slack": 3}
    assert box.pending() == {}
    assert len(http_receiver.requests) == 3
    assert ("slack", "dead", 1) in counted
    assert ("webhook", "sent", 1) in counted


def test_a_slow_receiver_does_not_change_the_poll_cadence(
    tmp_path: Path,
    store: StateStore,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    """While a receiver holds its reply, the poll loop goes on completing cycles."""
    feed = FakeFeed(now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    queue(store, ["webhook"], 0.0)
    svc = Service(
        poller=Poller(feed.api(), normalize, PollerConfig(), feed.clock),
        detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
        model=None,
        store=store,
        delivery=Delivery(store.outbox(), {"webhook": WebhookNotifier(f"{http_receiver.url}/h")}),
        metrics=Metrics(),
        receivers=["webhook"],
        rules_dir=ROOT / "rules",
        interval_s=0.05,
        seen_ttl=timedelta(days=1),
        log=Log(),
    )
    http_receiver.gate.clear()
    loop = threading.Thread(target=svc.run, daemon=True)
    loop.start()
    try:
        wait_for(lambda: http_receiver.requests, 30, "the first delivery to reach the receiver")
        held_at = svc.health.cycles
        wait_for(lambda: svc.health.cycles >= held_at + 10, 30, "ten cycles during the delivery")
        assert len(http_receiver.requests) == 1, "the receiver still holds the first reply"
    finally:
        http_receiver.gate.set()
        svc.stopping.set()
        loop.join(30)
    assert not loop.is_alive()
