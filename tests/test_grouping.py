"""Grouping and silences, as a scenario table and as a hypothesis state machine: no message
inside the group interval, nothing sent while silenced, a resolution after every notified
firing; and a storm of findings that becomes a bounded number of messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from detector.alerting.grouping import Group, Message, admit, flush
from detector.alerting.routing import GroupTiming, Leaf
from detector.alerting.silences import Silence, alert_labels, muted_by

TIMING = GroupTiming(group_wait_s=30, group_interval_s=300, repeat_interval_s=3600)
LEAF = Leaf("slack", ("account",), TIMING)


def alert(fp: str, status: str = "firing", seq: int = 1, account: str = "MA_1",
          severity: str = "warning") -> dict[str, Any]:  # fmt: skip
    """A minimal alert transition."""
    return {"fingerprint": fp, "delivery_id": f"{fp}:{seq}", "status": status, "rule": fp,
            "account": account, "severity": severity, "labels": {"account": account}}  # fmt: skip


class Driver:
    """What the notification stage does with groups, on a settable clock."""

    def __init__(self, timing: GroupTiming = TIMING) -> None:
        self.leaf = Leaf("slack", ("account",), timing)
        self.now = 0.0
        self.groups: dict[str, Group] = {}
        self.silences: list[Silence] = []
        self.sent: list[tuple[float, Message]] = []
        self.silenced: list[tuple[str, str]] = []

    def add(self, transition: dict[str, Any]) -> None:
        """Admit one transition into its group."""
        key, labels = self.leaf.group(alert_labels(transition))
        group = self.groups.get(key)
        timing = self.leaf.timing
        self.groups[key] = admit(
            group, transition, self.now, key=key, receiver="slack", labels=labels, timing=timing
        )

    def muted(self, a: Mapping[str, Any]) -> str | None:
        """The silence muting `a` now."""
        return muted_by(alert_labels(a), self.silences, self.now)

    def advance(self, seconds: float) -> None:
        """Let time pass, flushing each group when it is due (as often as it is due)."""
        end = self.now + seconds
        while True:
            due = [g.next_flush for g in self.groups.values() if g.next_flush is not None]
            soonest = min(due, default=None)
            if soonest is None or soonest > end:
                break
            self.now = max(self.now, soonest)
            self.flush_due()
        self.now = end
        self.flush_due()

    def flush_due(self) -> None:
        """Flush every group due now."""
        for key, group in list(self.groups.items()):
            if group.next_flush is None or group.next_flush > self.now:
                continue
            result = flush(group, self.now, self.muted)
            self.silenced += result.silenced
            if result.message is not None:
                self.sent.append((self.now, result.message))
            if result.group is None:
                del self.groups[key]


def test_a_burst_becomes_one_message_after_group_wait() -> None:
    """Three alerts of one account within the group wait go out together, at the group wait."""
    d = Driver()
    for i, fp in enumerate(("a", "b", "c")):
        d.add(alert(fp))
        d.advance(5 if i < 2 else 0)
    d.advance(19)
    assert d.sent == []
    d.advance(1)
    [(at, message)] = d.sent
    assert at == 30
    assert [a["fingerprint"] for a in message.alerts] == ["a", "b", "c"]


def test_changes_wait_for_the_group_interval_and_resolutions_come_once() -> None:
    """After the first message, a new alert and a resolution wait until group interval; the
    resolved alert then leaves the group."""
    d = Driver()
    d.add(alert("a"))
    d.advance(30)
    d.add(alert("b"))
    d.add(alert("a", "resolved", seq=2))
    d.advance(100)
    assert len(d.sent) == 1
    d.advance(200)
    (_, second) = d.sent[1]
    assert d.sent[1][0] == 330
    assert [(a["fingerprint"], a["status"]) for a in second.alerts] == [
        ("b", "firing"), ("a", "resolved"),
    ]  # fmt: skip
    d.advance(3600)
    (_, repeat) = d.sent[2]
    assert [a["fingerprint"] for a in repeat.alerts] == ["b"], "the repeat shows only b"


def test_a_silenced_alert_is_not_sent_and_is_recorded_once() -> None:
    """A silence on the rule keeps its alert out; the transition is recorded once."""
    d = Driver()
    d.silences.append(Silence.new(["rule=a"], 0, 10_000))
    d.add(alert("a"))
    d.add(alert("b"))
    d.advance(30)
    [(_, message)] = d.sent
    assert [a["fingerprint"] for a in message.alerts] == ["b"]
    d.advance(600)
    assert d.silenced == [("a:1", d.silences[0].id)]


def test_a_resolution_waits_for_the_silence_to_end() -> None:
    """An alert notified before a silence that resolves during it is told after it ends."""
    d = Driver()
    d.add(alert("a"))
    d.advance(30)
    d.silences.append(Silence.new(["rule=a"], 40, 1000))
    d.advance(20)
    d.add(alert("a", "resolved", seq=2))
    d.advance(900)
    assert len(d.sent) == 1, "nothing while silenced"
    d.advance(400)
    assert [a["status"] for a in d.sent[-1][1].alerts] == ["resolved"]
    assert d.groups == {}


def test_a_storm_is_a_bounded_number_of_messages() -> None:
    """10,000 findings for 500 accounts within 10 minutes: one message per account at the group
    wait, then at most one per account per group interval; never one per finding."""
    d = Driver()
    for i in range(10_000):
        account = f"MA_{i % 500}"
        d.add(alert(f"{account}-r{i % 3}", seq=i // 1500 + 1, account=account))
        if i % 100 == 99:
            d.advance(6)
    d.advance(10)
    assert d.now == 610
    assert len(d.sent) <= 500 * (1 + 610 // 300), "one per account, then one per interval"
    assert len(d.sent) <= 10_000 // 10
    d.advance(3600)
    assert len(d.sent) <= 500 * (1 + d.now // 300)
    accounts = {m.group_labels["account"] for _, m in d.sent}
    assert accounts == {f"MA_{i}" for i in range(500)}, "every account was told"


FPS = ["r1", "r2", "r3"]
ACCOUNTS = ["MA_1", "MA_2"]


class GroupingMachine(RuleBasedStateMachine):
    """Random transitions, silences and time; the grouping invariants hold throughout."""

    @initialize(exponential=st.booleans())
    def start(self, exponential: bool) -> None:
        """A fresh driver; repeats constant or doubling."""
        timing = GroupTiming(group_wait_s=30, group_interval_s=300, repeat_interval_s=1800,
                             exponential=exponential)  # fmt: skip
        self.d = Driver(timing)
        self.status: dict[tuple[str, str], str] = {}
        self.seq = 0
        self.checked = 0

    @rule(fp=st.sampled_from(FPS), account=st.sampled_from(ACCOUNTS),
          severity=st.sampled_from(["warning", "critical"]))  # fmt: skip
    def fire(self, fp: str, account: str, severity: str) -> None:
        """An alert fires (or escalates) for an account."""
        self.seq += 1
        self.d.add(alert(f"{account}-{fp}", seq=self.seq, account=account, severity=severity))
        self.status[(account, fp)] = "firing"

    @rule(fp=st.sampled_from(FPS), account=st.sampled_from(ACCOUNTS))
    def resolve(self, fp: str, account: str) -> None:
        """A firing alert resolves."""
        if self.status.get((account, fp)) != "firing":
            return
        self.seq += 1
        self.d.add(alert(f"{account}-{fp}", "resolved", self.seq, account))
        self.status[(account, fp)] = "resolved"

    @rule(account=st.sampled_from(ACCOUNTS), minutes=st.integers(1, 120))
    def silence(self, account: str, minutes: int) -> None:
        """Silence an account for a while."""
        self.d.silences.append(
            Silence.new([f"account={account}"], self.d.now, self.d.now + 60 * minutes)
        )

    @precondition(lambda self: any(s.active(self.d.now) for s in self.d.silences))
    @rule()
    def expire(self) -> None:
        """End the oldest active silence now."""
        s = next(s for s in self.d.silences if s.active(self.d.now))
        self.d.silences.remove(s)
        self.d.silences.append(Silence(s.id, s.matchers, s.starts_at, self.d.now))

    @rule(seconds=st.sampled_from([1, 10, 29, 30, 100, 299, 300, 1000, 4000]))
    def wait(self, seconds: int) -> None:
        """Time passes; due groups flush."""
        self.d.advance(seconds)

    @invariant()
    def nothing_inside_the_group_interval(self) -> None:
        """Messages of one group are at least the group interval apart (and the first one at
        least the group wait after its first alert)."""
        last: dict[str, float] = {}
        for at, message in self.d.sent:
            if message.group_key in last:
                assert at - last[message.group_key] >= 300 or self._recreated(message, at)
            last[message.group_key] = at

    def _recreated(self, message: Message, at: float) -> bool:
        """A group deleted (nothing left) and created again starts a new lifetime."""
        return message.delivery_id.endswith(":1")

    @invariant()
    def nothing_sent_while_silenced(self) -> None:
        """No message carries an alert a silence matched when it was sent."""
        for at, message in self.d.sent[self.checked :]:
            for a in message.alerts:
                labels = alert_labels(a)
                assert muted_by(labels, self.d.silences, at) is None, (at, a)
        self.checked = len(self.d.sent)

    @invariant()
    def resolutions_only_after_a_notified_firing(self) -> None:
        """A resolution is sent only for an alert whose firing was sent before."""
        fired: set[str] = set()
        for _, message in self.d.sent:
            for a in message.alerts:
                if a["status"] == "firing":
                    fired.add(a["fingerprint"])
                else:
                    assert a["fingerprint"] in fired

    def teardown(self) -> None:
        """Resolve everything, end every silence, wait: every notified firing was resolved."""
        for (account, fp), status in list(self.status.items()):
            if status == "firing":
                self.resolve(fp, account)
        self.d.silences = []
        self.d.advance(10 * 3600)
        last: dict[str, str] = {}
        for _, message in self.d.sent:
            for a in message.alerts:
                last[a["fingerprint"]] = a["status"]
        assert all(status == "resolved" for status in last.values()), last
        assert self.d.groups == {}


TestGroupingMachine = GroupingMachine.TestCase
TestGroupingMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


def test_a_group_made_again_under_its_key_sends_notices_with_new_ids() -> None:
    """Fire, resolve (the group is gone), fire again: the new group's first notice does not
    reuse the old one's delivery id (the outbox would take it as already queued and drop it)."""
    d = Driver()
    d.add(alert("a"))
    d.advance(30)
    d.add(alert("a", "resolved", seq=2))
    d.advance(300)
    assert d.groups == {}
    d.add(alert("a", seq=3))
    d.advance(30)
    ids = [message.delivery_id for _, message in d.sent]
    assert len(ids) == 3
    assert len(set(ids)) == 3
