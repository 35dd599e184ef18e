"""Calls in progress: trunk `CallInitiated` events with no `Hangup` or CDR yet (issue 18).

A CDR exists only once a call ends, so an eight-hour IRSF call is otherwise first seen eight
hours in. With trunk webhooks on, every allowed outbound attempt opens an entry here; the call's
`Hangup` or its CDR (from a webhook or the poller, whichever comes first) closes it, and an
entry still open at the platform's longest call (`poll.lateness_horizon_s`, Vobiz hangup cause
6000 "max duration reached") expires: that call must have ended, its Hangup was lost, and the
poller will bring its CDR.

Each cycle `judge` asks every rule of kind `open` (`detector.rules.kinds.open`) about each open
call at least as old as the rule's lowest threshold. The rule's `match` sees the call as an
answered outbound call whose talk time is its age so far (`talk_s`) and whose destination
fields (`to`, `dest_country`, `premium`, prefix lists …) are those of its `CallInitiated`; the
value is the age, so `thresholds: {warning: 2h}` alerts on a call open for two hours. The
emission contract is the rules' own (`Runner.level`): a finding when the severity rises, then
at most one per heartbeat while the call stays open; once it closes, the alert resolves as any
rule's does when its findings stop.

Pure and in memory, like the attempt windows: ages are measured against the `now` the caller
gives (event time); a restart forgets the open calls (the CDR still reaches the duration rules
when the call ends). `census` gives the concurrent open calls per account and destination
country for the metrics. At most `limit` calls are held; beyond, new ones are counted in
`dropped` and not tracked.

>>> from datetime import UTC, datetime, timedelta
>>> from detector.webhooks.events import Attempt
>>> t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
>>> calls = OpenCalls(max_s=86400)
>>> calls.open([Attempt("c1", "MA_1", "", "+5371234567", t0, True, "")], done=set())
>>> calls.census(t0 + timedelta(hours=3)).by_destination
{'CU': 1}
>>> calls.close(["c1"]), calls.census(t0).total
(1, 0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from detector.domain import CDR, Finding
from detector.domain.cdr import Direction, Status
from detector.enrich.numbers import classify
from detector.rules.engine import RuleEngine
from detector.rules.fields import Facts
from detector.rules.kinds.open import OpenCall as OpenKind
from detector.rules.runner import KeyState, Runner, Subject
from detector.webhooks.events import Attempt

LIMIT = 100_000
"""Most open calls held (a few times the concurrent calls of a large partner)."""


@dataclass(slots=True)
class Running:
    """One open call: what its CallInitiated said, as a CDR that has not ended yet."""

    cdr: CDR
    tracks: dict[str, KeyState] = field(default_factory=dict)
    """Emission memory per `open` rule id."""


@dataclass(frozen=True, slots=True)
class Census:
    """The open calls at one moment."""

    total: int
    by_account: dict[str, int]
    by_destination: dict[str, int]
    """Per destination country (ISO alpha-2, "" when unknown)."""
    oldest_s: float


class OpenCalls:
    """The calls announced and not yet ended, judged by the `open` rules."""

    def __init__(self, max_s: float, limit: int = LIMIT) -> None:
        self.max_s, self.limit = max_s, limit
        self.calls: dict[str, Running] = {}
        self.expired = 0
        """Entries dropped at `max_s` (their Hangup and CDR never came while open)."""
        self.dropped = 0
        """Calls not tracked because `limit` were open."""

    def open(self, attempts: Iterable[Attempt], done: Collection[str]) -> None:
        """Track each allowed attempt whose call is not open already nor in `done` (ids whose
        CDR was already processed: a Hangup or a CDR that came before its CallInitiated)."""
        for attempt in attempts:
            key = attempt.call_id
            if not attempt.allowed or key in done or key in self.calls:
                continue
            if len(self.calls) >= self.limit:
                self.dropped += 1
                continue
            self.calls[key] = Running(_as_cdr(attempt))

    def close(self, call_ids: Iterable[str]) -> int:
        """Forget the calls whose Hangup or CDR arrived; returns how many were open."""
        closed = 0
        for key in call_ids:
            if self.calls.pop(key, None) is not None:
                closed += 1
        return closed

    def judge(self, now: datetime, engine: RuleEngine) -> list[Finding]:
        """Expire calls open for `max_s`, then the findings of the `open` rules at `now`."""
        runners = [r for r in engine.runners if isinstance(r.kind, OpenKind)]
        floor = min((r.floor for r in runners), default=float("inf"))
        found: list[Finding] = []
        for key, call in list(self.calls.items()):
            age = (now - call.cdr.start).total_seconds()
            if age >= self.max_s:
                del self.calls[key]
                self.expired += 1
            elif age >= floor:
                found += self._judge(call, age, now, runners, engine)
        return found

    def census(self, now: datetime) -> Census:
        """How many calls are open, per account and destination country, and the oldest age."""
        accounts: Counter[str] = Counter()
        countries: Counter[str] = Counter()
        oldest = 0.0
        for call in self.calls.values():
            accounts[call.cdr.account] += 1
            countries[call.cdr.dest_country] += 1
            oldest = max(oldest, (now - call.cdr.start).total_seconds())
        return Census(len(self.calls), dict(accounts), dict(countries), oldest)

    @staticmethod
    def _judge(
        call: Running, age: float, now: datetime, runners: list[Runner], engine: RuleEngine
    ) -> list[Finding]:
        cdr = replace(call.cdr, talk_s=age, end=max(now, call.cdr.start))
        facts = Facts(cdr, engine.locale, engine.zones.of(cdr.account))
        out: list[Finding] = []
        t = int(now.timestamp())
        for runner in runners:
            if age < runner.floor or not runner.predicate(facts):
                continue
            if runner.gate is not None and not runner.gate(facts):
                continue
            track = call.tracks.get(runner.id)
            if track is None:
                track = call.tracks[runner.id] = KeyState(
                    None, evidence=[cdr.call_id], peers=[facts.to]
                )
            reading = OpenKind.read(age)
            severity = runner.level(track, reading, cdr.account, t)
            if severity is not None:
                subject = Subject(cdr.account, runner.key(facts), t, now)
                out.append(runner.finding(track, reading, severity, subject))
        return out


def _as_cdr(attempt: Attempt) -> CDR:
    """The attempt as an answered outbound call that has not ended (talk time 0 so far)."""
    info = classify(attempt.to) if attempt.to.startswith("+") else None
    return CDR(
        call_id=attempt.call_id, account=attempt.account, direction=Direction.OUTBOUND,
        status=Status.ANSWERED, start=attempt.at, answer=attempt.at, end=attempt.at,
        talk_s=0.0, ring_s=0.0, from_number=attempt.from_number, to_number=attempt.to,
        trunk=attempt.trunk, dest_country=info.country if info else "",
        dest_type=info.type if info else "",
    )  # fmt: skip
