"""The notification stage on a real state file with a settable clock: routing by labels with
`continue` and a null receiver, a storm through policy and stage into a bounded outbox,
silences from the silence book, Alertmanager alerts re-posted while they fire, enrichment from
the simulator's single-call endpoint, and route checks at load."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from detector.alerting.enrichment import Enricher
from detector.alerting.notification import Destinations, NoticeMaker, NotificationStage
from detector.alerting.policy import AlertPolicy, AlertsState
from detector.alerting.routing import GroupTiming, build
from detector.alerting.settings import RouteSettings
from detector.alerting.silences import Silence
from detector.config import load_settings
from detector.domain import Alert, AlertTiming
from detector.errors import ConfigError
from detector.state.store import Cycle, StateStore
from tests.policy_cases import C, W, at, finding

ROUTE = RouteSettings.model_validate({
    "receiver": "noc", "group_by": ["account"], "group_wait": "30s", "group_interval": "5m",
    "repeat_interval": "4h",
    "routes": [
        {"matchers": ['severity="critical"'], "receiver": "pager", "continue": True},
        {"matchers": ["team=~fraud|billing"], "receiver": "fraud"},
        {"matchers": ["account=MA_lab"], "receiver": "null"},
    ],
})  # fmt: skip


class Clock:
    """A settable wall clock."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    """A fresh state file."""
    s = StateStore(tmp_path / "state.sqlite")
    yield s
    s.close()


def stage(
    store: StateStore, clock: Clock, route: RouteSettings = ROUTE, **options: Any
) -> NotificationStage:
    """A stage over `store` with the given route tree (no console), on `clock`."""
    resend = options.pop("resend", {})
    return NotificationStage(store.notifications(), Destinations(build(route), resend, False),
                             NoticeMaker(**options), clock=clock)  # fmt: skip


def commit(store: StateStore, alerts: list[Alert]) -> None:
    """Commit alerts as a cycle would."""
    store.commit_cycle(Cycle(cursor=None, alerts=alerts))


def outbox(store: StateStore) -> Counter[str]:
    """Pending notices per receiver."""
    with store.outbox() as box:
        return Counter(box.pending())


def notices(store: StateStore, receiver: str) -> list[dict[str, Any]]:
    """The queued notices of one receiver, oldest first."""
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute(
            "SELECT payload FROM outbox WHERE receiver = ? ORDER BY rowid", (receiver,)
        ).fetchall()
    return [json.loads(r[0]) for r in rows]


def fire(account: str, severity: Any = W, source: str = "robocall", **labels: str) -> Alert:
    """A FIRING alert of `source` for `account` with extra labels."""
    policy = AlertPolicy({source: AlertTiming()})
    extra = tuple(sorted(labels.items()))
    [alert] = policy.on_finding(
        finding(0, severity, source=source, account=account, labels=extra), AlertsState()
    )
    return alert


def test_routes_send_by_labels_with_continue_and_a_null_receiver(
    store: StateStore,
) -> None:
    """Critical goes to the pager and on to the next match (fraud for a fraud team, none for
    another team: then the pager alone); other alerts to their match or the root; the lab
    nowhere."""
    clock = Clock()
    s = stage(store, clock)
    commit(store, [
        fire("MA_1", C, team="fraud"), fire("MA_2", W, team="noc"), fire("MA_lab", W),
        fire("MA_3", C, team="noc"),
    ])  # fmt: skip
    s.step()
    assert outbox(store) == Counter(), "nothing before the group wait"
    clock.now += 30
    s.step()
    assert outbox(store) == Counter({"pager": 2, "fraud": 1, "noc": 1})
    [noc] = notices(store, "noc")
    assert noc["group_labels"] == {"account": "MA_2"}
    assert {n["group_labels"]["account"] for n in notices(store, "pager")} == {"MA_1", "MA_3"}


def test_a_storm_through_policy_and_stage_is_a_bounded_number_of_messages(
    store: StateStore,
) -> None:
    """10,000 findings for 500 accounts (3 rules each, escalating) become one notice per account
    and receiver at the group wait, not one per finding or per alert."""
    clock = Clock()
    timings = {f"rule-{r}": AlertTiming() for r in range(3)}
    policy, states = AlertPolicy(timings), {f"MA_{a}": AlertsState() for a in range(500)}
    alerts: list[Alert] = []
    for i in range(10_000):
        account, rule = f"MA_{i % 500}", f"rule-{i % 3}"
        severity = C if i >= 5000 else W
        f = finding(i / 1000, severity, source=rule, account=account)
        alerts += policy.on_finding(f, states[account])
    commit(store, alerts)
    s = stage(store, clock, RouteSettings(receiver="noc", group_wait=30.0))
    while s.step()[0] == 0.0:
        pass
    clock.now += 30
    s.step()
    [notices_sent] = outbox(store).values()
    assert len(alerts) >= 3000, "the storm raised thousands of alerts"
    assert notices_sent == 500
    [first] = notices(store, "noc")[:1]
    assert len(first["alerts"]) == 3, "an account's three rules in one notice"


def test_silences_from_the_book_mute_and_are_recorded(store: StateStore) -> None:
    """A silence added through the silence book keeps its alerts out and records them."""
    clock = Clock()
    with store.silences() as book:
        book.add(Silence.new(["account=MA_1"], clock.now, clock.now + 3600, "maint").to_json())
    s = stage(store, clock, RouteSettings(receiver="noc", group_wait=0.0))
    commit(store, [fire("MA_1"), fire("MA_2")])
    s.step()
    [n] = notices(store, "noc")
    assert n["group_labels"] == {"account": "MA_2"}
    assert store.inspect()["notifications_silenced"] == 1


def test_alertmanager_receivers_are_ungrouped_and_reposted_while_firing(
    store: StateStore,
) -> None:
    """An Alertmanager receiver gets each alert at once, again every `resend`, until resolved."""
    clock = Clock()
    policy, state = AlertPolicy({"robocall": AlertTiming(resolve_after_s=600)}), AlertsState()
    fired = policy.on_finding(finding(0, W), state)
    s = stage(store, clock, RouteSettings(receiver="am"), resend={"am": 900.0})
    commit(store, fired)
    s.step()
    assert outbox(store) == Counter({"am": 1})
    for _ in range(3):
        clock.now += 900
        s.step()
    assert outbox(store) == Counter({"am": 4}), "re-posted every 900 s"
    commit(store, policy.advance(at(60), state))
    s.step()
    assert [n["status"] for n in notices(store, "am")][-1] == "resolved"
    clock.now += 10_000
    s.step()
    assert outbox(store) == Counter({"am": 5}), "nothing after the resolution"


def test_new_alerts_are_enriched_from_the_single_call_endpoint(store: StateStore) -> None:
    """A new alert's sample call gets its hangup cause and SIP code when the group is sent."""
    from detector.alerting.content import CallDetail
    from detector.simulate import SimOptions, SimulatorServer, generate
    from detector.source.client import CdrApi
    from detector.source.normalize import normalize

    options = SimOptions(accounts=2, seed=3, speed=60, duration=timedelta(minutes=30))
    traffic = generate(options)
    wall = [0.0]
    server = SimulatorServer(traffic, options, clock=lambda: wall[0])
    host, port = server.start()
    wall[0] = (traffic.final_at - options.start).total_seconds() / options.speed + 1
    try:
        api = CdrApi(f"http://{host}:{port}/api/v1/partner", "PA_SIM", "sim-token",
                     max_retries=0)  # fmt: skip
        row = traffic.rows[0]

        def fetch(account: str, call_id: str) -> CallDetail | None:
            cdr = normalize(api.get_cdr(account, call_id), account=account)
            return CallDetail(call_id, cdr.hangup_cause, cdr.sip_code)  # type: ignore[union-attr]

        enricher = Enricher(fetch, rate_per_s=100)
        clock = Clock()
        s = stage(store, clock, RouteSettings(receiver="noc", group_wait=5.0), enricher=enricher)
        alert = fire(str(row["account_auth_id"]))
        alert = replace(alert, evidence=(str(row["call_uuid"]), "no-such-call"))
        commit(store, [alert])
        s.step()
        while enricher.run_once():
            pass
        clock.now += 5
        s.step()
    finally:
        server.stop()
    [n] = notices(store, "noc")
    [detail] = n["alerts"][0]["calls"]
    assert detail["call_id"] == row["call_uuid"]
    assert detail["hangup_cause"]
    assert n["alerts"][0]["call_ids"] == [row["call_uuid"], "no-such-call"]


def test_a_route_to_an_unknown_receiver_is_refused_at_load(tmp_path: Path) -> None:
    """A route naming a receiver that does not exist is a configuration error with its path."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "alerting:\n  route: {receiver: noc, routes: [{matchers: [team=fraud], receiver: pagr}]}\n"
        "  receivers: [{name: noc, webhook: {url_env: X}}]\n"
    )
    with pytest.raises(ConfigError, match=r"alerting\.route\.routes\[0\]\.receiver: 'pagr'"):
        load_settings(path)


def test_bad_matchers_and_receivers_are_refused_at_load(tmp_path: Path) -> None:
    """A bad regex, a receiver of two kinds, or a duplicate name fail with what is wrong."""
    cases = {
        "alerting: {route: {receiver: null, matchers: ['team=~(']}}": "bad regular expression",
        "alerting: {receivers: [{name: x, slack: {}, webhook: {}}]}": "exactly one of",
        "alerting: {receivers: [{name: x, slack: {}}, {name: x, slack: {}}]}": "unique",
    }
    for text, message in cases.items():
        path = tmp_path / "c.yaml"
        path.write_text(text + "\n")
        with pytest.raises(ConfigError, match=message):
            load_settings(path)


def test_inherited_timings_and_grouping() -> None:
    """A child route inherits group_by and timings it does not set."""
    root = build(RouteSettings.model_validate({
        "receiver": "noc", "group_by": ["account", "rule"], "group_interval": "1m",
        "routes": [{"matchers": ["severity=critical"], "receiver": "pager", "group_wait": "0s"}],
    }))  # fmt: skip
    [leaf] = root.match({"severity": "critical", "account": "MA_1", "rule": "r"})
    assert leaf.group_by == ("account", "rule")
    assert leaf.timing == GroupTiming(group_wait_s=0.0, group_interval_s=60.0)


@pytest.mark.parametrize("group_by", [["..."], ["account", "severity"]])
def test_an_escalation_leaves_no_stale_warning_behind(
    store: StateStore, group_by: list[str]
) -> None:
    """warning told, then critical and its resolution: the resolution is told, and no group
    keeps the warning as if it still fired (also when grouping by severity moves the alert)."""
    clock = Clock()
    policy, state = AlertPolicy({"robocall": AlertTiming(resolve_after_s=600)}), AlertsState()
    s = stage(store, clock, RouteSettings(receiver="noc", group_by=group_by, group_wait=0.0,
                                          group_interval=0.0, repeat_interval=60.0))  # fmt: skip
    commit(store, policy.on_finding(finding(0, W), state))
    s.step()
    commit(store, policy.on_finding(finding(1, C), state) + policy.advance(at(30), state))
    s.step()
    sent = [[(a["severity"], a["status"]) for a in n["alerts"]] for n in notices(store, "noc")]
    assert sent == [[("warning", "firing")], [("critical", "resolved")]]
    clock.now += 3600
    s.step()
    assert len(notices(store, "noc")) == 2, "no repeat of a stale warning"
    assert store.inspect()["notification_groups"] == 0
