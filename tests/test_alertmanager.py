"""Against real `prometheus-alertmanager` processes started by the test: an escalation then a
resolution leaves no active alert, an alert firing longer than its `endsAt` stays active
because the daemon re-posts it, and both members of an HA pair receive every alert."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from detector.alerting.delivery import Delivery, Pacing
from detector.alerting.grouping import Message
from detector.alerting.notification import Destinations, NoticeMaker, NotificationStage
from detector.alerting.notifiers.alertmanager import AlertmanagerNotifier
from detector.alerting.policy import AlertPolicy, AlertsState
from detector.alerting.routing import build
from detector.alerting.settings import RouteSettings
from detector.domain import Alert, AlertTiming
from detector.state.store import Cycle, StateStore
from tests.daemon import free_port, wait_for
from tests.policy_cases import C, W, at, finding
from tests.receivers import HttpReceiver

BINARY = shutil.which("prometheus-alertmanager")
pytestmark = pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager not installed")


class Alertmanager:
    """A real Alertmanager on a loopback port, routing everything to a webhook sink."""

    def __init__(self, tmp: Path, sink: str) -> None:
        self.port = free_port()
        config = tmp / "am.yml"
        config.write_text(
            "route: {receiver: sink, group_by: [alertname, account], group_wait: 0s,"
            " group_interval: 1s, repeat_interval: 1h}\n"
            f"receivers: [{{name: sink, webhook_configs: [{{url: '{sink}'}}]}}]\n"
        )
        assert BINARY is not None
        self.proc = subprocess.Popen(
            [BINARY, f"--config.file={config}", f"--storage.path={tmp}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(self._ready, 30, "Alertmanager to be ready")

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def active(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds as active (not resolved)."""
        alerts = httpx.get(f"{self.url}/api/v2/alerts", timeout=5).json()
        return [a for a in alerts if a["status"]["state"] == "active"]

    def stop(self) -> None:
        """Stop the process."""
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Alertmanager, Alertmanager, HttpReceiver]]:
    """Two Alertmanagers (an HA pair as the daemon sees it) sending to one webhook sink."""
    with HttpReceiver() as sink:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = Alertmanager(tmp_path / "a", f"{sink.url}/a")
        second = Alertmanager(tmp_path / "b", f"{sink.url}/b")
        try:
            yield first, second, sink
        finally:
            first.stop()
            second.stop()


def notice_of(alert: Alert, n: int) -> dict[str, Any]:
    """The notice the stage would send to an Alertmanager receiver for one transition."""
    message = Message(f"am:{n}", "am", "am", {}, [alert.to_json()])
    return NoticeMaker()(message).to_json()


def test_escalation_then_resolution_leaves_no_active_alert(
    pair: tuple[Alertmanager, Alertmanager, HttpReceiver],
) -> None:
    """warning → critical → resolved: no copy of either severity stays active."""
    am, _, sink = pair
    notifier = AlertmanagerNotifier(am.url, ends_after_s=3600)
    policy, state = AlertPolicy({"robocall": AlertTiming(resolve_after_s=600)}), AlertsState()
    warning = policy.on_finding(finding(0, W), state)
    critical = policy.on_finding(finding(1, C), state)
    resolved = policy.advance(at(30), state)
    notifier.send(notice_of(warning[0], 1))
    wait_for(lambda: [a["labels"]["severity"] for a in am.active()] == ["warning"], 20,
             "the warning to be active")  # fmt: skip
    notifier.send(notice_of(critical[0], 2))
    wait_for(lambda: [a["labels"]["severity"] for a in am.active()] == ["critical"], 20,
             "only the critical to be active after the escalation")  # fmt: skip
    notifier.send(notice_of(resolved[0], 3))
    wait_for(lambda: am.active() == [], 20, "no active alert after the resolution")
    wait_for(lambda: any(b"resolved" in r.body for r in sink.requests), 20,
             "Alertmanager to send the resolution on")  # fmt: skip


def test_an_alert_firing_longer_than_ends_at_stays_active(
    tmp_path: Path, pair: tuple[Alertmanager, Alertmanager, HttpReceiver]
) -> None:
    """With endsAt 3 s ahead and a re-post every second, the alert is still active after 8 s,
    and goes once the daemon stops re-posting it and its endsAt passes."""
    am, _, _ = pair
    store = StateStore(tmp_path / "state.sqlite")
    policy = AlertPolicy({"robocall": AlertTiming()})
    store.commit_cycle(Cycle(cursor=None, alerts=policy.on_finding(finding(0, W), AlertsState())))
    stage = NotificationStage(
        store.notifications(), Destinations(build(RouteSettings(receiver="am")), {"am": 1.0}),
        NoticeMaker(),
    )  # fmt: skip
    notifier = AlertmanagerNotifier(am.url, name="am", ends_after_s=3.0)
    delivery = Delivery(store.outbox(), {"am": notifier}, {"am": Pacing(rate_per_s=50, burst=50)},
                        stage=stage)  # fmt: skip
    delivery.start()
    try:
        wait_for(am.active, 20, "the alert to be active")
        started = datetime.now(UTC)
        wait_for(lambda: (datetime.now(UTC) - started).total_seconds() > 8, 20, "8 seconds")
        [alert] = am.active()
        assert alert["labels"]["alertname"] == "robocall"
    finally:
        delivery.stop()
        store.close()
    wait_for(lambda: am.active() == [], 20, "the alert to expire once no longer re-posted")


def test_both_members_of_an_ha_pair_receive(
    pair: tuple[Alertmanager, Alertmanager, HttpReceiver],
) -> None:
    """One notifier with two URLs: each Alertmanager holds the alert and notifies its sink."""
    first, second, sink = pair
    policy = AlertPolicy({"robocall": AlertTiming()})
    [alert] = policy.on_finding(finding(0, C), AlertsState())
    AlertmanagerNotifier([first.url, second.url]).send(notice_of(alert, 1))
    for am in (first, second):
        wait_for(lambda am=am: am.active(), 20, f"{am.url} to hold the alert")  # type: ignore[misc]
    wait_for(lambda: {r.path for r in sink.requests} >= {"/a", "/b"}, 20,
             "both Alertmanagers to notify their receiver")  # fmt: skip
