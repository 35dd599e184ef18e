"""The notification stage: committed alerts → route → group → silence → notices in the outbox.

Alertmanager's pipeline, run on its own thread next to the couriers (`alerting.delivery`):

1. take the alerts the cycles committed (`state.notifications`' queue), in order;
2. route each through the tree (`alerting.routing`) to its receivers; every alert also goes to
   the console log at once, and to an Alertmanager receiver ungrouped (Alertmanager groups
   itself) and repeated every `resend` while it fires, so Alertmanager never times it out;
3. add it to its group per receiver (`alerting.grouping`); hand a first firing to enrichment;
4. flush the groups that are due, leaving out what active silences match (recorded, counted);
5. store the groups and put each message, as a `content.Notice` (masked, with links and call
   details), in the outbox, all in one transaction; then wake the couriers.

`step()` does one round with the injected clock and returns how long to wait before the next,
so tests drive it without threads. A failing state file leaves the round uncommitted: the
groups are reloaded from the last commit and the round is tried again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from detector.alerting.briefer import Briefer
from detector.alerting.cards import Cards
from detector.alerting.content import Notice, alert_link, links_of, view
from detector.alerting.enrichment import Enricher
from detector.alerting.grouping import Entry, Group, Message, admit, evict, flush
from detector.alerting.masking import Masker
from detector.alerting.routing import ALL_LABELS, IMMEDIATE, GroupTiming, Leaf, Route
from detector.alerting.settings import LinkSettings
from detector.alerting.silences import Silence, alert_labels, muted_by
from detector.state.notifications import NotificationStore
from detector.state.outbox import Envelope

CONSOLE = "console"
NULL = "null"
IDLE_S = 1.0
"""Longest the stage sleeps: silences written by another process are seen within this."""


@dataclass(frozen=True, slots=True)
class Destinations:
    """Where alerts go: the route tree, plus what some receiver kinds need.

    `resend` maps each Alertmanager receiver to its re-post interval; `console` adds the log.
    """

    route: Route
    resend: Mapping[str, float] = field(default_factory=dict)
    console: bool = True

    def of(self, labels: Mapping[str, str]) -> list[Leaf]:
        """The leaves an alert with `labels` is grouped under, one per receiver and grouping."""
        leaves = [Leaf(CONSOLE, (ALL_LABELS,), IMMEDIATE)] if self.console else []
        for found in self.route.match(labels):
            if found.receiver == NULL:
                continue
            resend = self.resend.get(found.receiver)
            leaf = found
            if resend is not None:
                leaf = Leaf(found.receiver, (ALL_LABELS,), GroupTiming(0.0, 0.0, resend))
            if leaf not in leaves:
                leaves.append(leaf)
        return leaves


@dataclass(frozen=True, slots=True)
class NoticeMaker:
    """Turns a group's message into the notice every channel renders.

    `cards` (the rules' headlines, runbooks, units; the accounts' timezones) is a callable so
    a rule reload is seen by the next notice; `briefer` supplies what the account's calls say.
    """

    masker: Masker = field(default_factory=Masker)
    links: LinkSettings = field(default_factory=LinkSettings)
    base_url: str = ""
    enricher: Enricher | None = None
    cards: Callable[[], Cards] = Cards
    briefer: Briefer | None = None

    def __call__(self, message: Message) -> Notice:
        """The notice for `message`."""
        views, cards = [], self.cards()
        base = self.links.external_url or self.base_url
        for alert in message.alerts:
            fingerprint = str(alert.get("fingerprint", ""))
            calls = self.enricher.details(fingerprint) if self.enricher else []
            link = alert_link(alert, self.links, self.base_url)
            status = str(alert.get("status", ""))
            found = self.briefer.briefing(fingerprint, status) if self.briefer else None
            chart = found is not None and found.series is not None
            links = links_of(alert, self.links, self.base_url, chart)
            views.append(view(alert, self.masker, link, calls, cards=cards, briefing=found,
                              links=links, base=base))  # fmt: skip
        return Notice(
            delivery_id=message.delivery_id, receiver=message.receiver,
            group_key=message.group_key,
            group_labels={k: self.masker(v) for k, v in message.group_labels.items()},
            alerts=views, link=views[0].link if views else "",
        )  # fmt: skip


def _ignore(receiver: str, n: int) -> None:
    """The default silenced-count recorder."""


@dataclass(slots=True)
class _Round:
    """What one step changes, committed together."""

    consumed: list[int] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    deleted: list[str] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    silenced: list[tuple[str, str, str]] = field(default_factory=list)


class NotificationStage:
    """Routes, groups and silences committed alerts into the outbox."""

    def __init__(
        self,
        store: NotificationStore,
        destinations: Destinations,
        notice: NoticeMaker | None = None,
        *,
        clock: Callable[[], float] = time.time,
        record_silenced: Callable[[str, int], None] = _ignore,
        batch: int = 500,
        log: Any = None,
    ) -> None:
        self.store, self.destinations = store, destinations
        self.notice = notice or NoticeMaker()
        self.clock, self.record_silenced, self.batch = clock, record_silenced, batch
        self.log = log if log is not None else structlog.get_logger(component="notify")
        self.groups: dict[str, Group] | None = None
        self._where: dict[tuple[str, str], str] = {}
        """(receiver, fingerprint) → the key of the group that last took it (maybe stale)."""

    def step(self) -> tuple[float, int]:
        """One round; (seconds until the next one may have work, messages queued)."""
        now, work = self.clock(), _Round()
        silences = [Silence.from_json(s) for s in self.store.silences(now)]
        taken = self.store.take(self.batch)
        for seq, alert in taken:
            self._admit(alert, now, work)
            work.consumed.append(seq)
        self._flush_due(now, silences, work)
        try:
            self._commit(work, now)
        except Exception:
            self.groups = None  # reload from the last commit before the next round
            raise
        for receiver in {r for _, r, _ in work.silenced}:
            self.record_silenced(receiver, sum(1 for _, r, _ in work.silenced if r == receiver))
        return (0.0 if len(taken) == self.batch else self._wait(now)), len(work.envelopes)

    def quiet(self) -> bool:
        """Nothing queued to route and no group due now (for a clean shutdown)."""
        now, groups = self.clock(), self.groups
        if groups is None or self.store.take(1):
            return False
        try:
            due = [g.next_flush for g in list(groups.values())]
        except RuntimeError:  # the stage's thread changed the groups meanwhile
            return False
        return all(t is None or t > now for t in due)

    def _groups(self) -> dict[str, Group]:
        """The groups, loaded from the state at first use and after a failed commit."""
        if self.groups is None:
            self.groups = {k: Group.from_json(b) for k, b in self.store.groups().items()}
            self._where = {(g.receiver, fp): k for k, g in self.groups.items() for fp in g.entries}
        return self.groups

    def _admit(self, alert: dict[str, Any], now: float, work: _Round) -> None:
        groups = self._groups()
        labels = alert_labels(alert)
        fingerprint = str(alert.get("fingerprint", ""))
        for leaf in self.destinations.of(labels):
            key, group_labels = leaf.group(labels)
            moved = self._move_out(fingerprint, leaf.receiver, key, work)
            groups[key] = admit(
                groups.get(key), alert, now, key=key, receiver=leaf.receiver,
                labels=group_labels, timing=leaf.timing,
                notified=moved is not None and moved.notified,
            )  # fmt: skip
            work.changed.add(key)
        enricher = self.notice.enricher
        if enricher is not None and alert.get("status") == "firing":
            enricher.submit(alert)
        if self.notice.briefer is not None:
            self.notice.briefer.submit(alert)

    def _move_out(self, fingerprint: str, receiver: str, key: str, work: _Round) -> Entry | None:
        """Take the alert out of another group of `receiver` holding it (grouping by severity
        and an escalation), deleting that group when nothing is left in it."""
        groups = self._groups()
        other_key = self._where.get((receiver, fingerprint))
        self._where[(receiver, fingerprint)] = key
        other = groups.get(other_key) if other_key is not None and other_key != key else None
        if other is None or fingerprint not in other.entries:
            return None
        entry = evict(other, fingerprint)
        work.changed.add(other.key)
        if not other.entries:
            del groups[other.key]
            work.deleted.append(other.key)
        return entry

    def _flush_due(self, now: float, silences: list[Silence], work: _Round) -> None:
        groups = self._groups()

        def muted(alert: Mapping[str, Any]) -> str | None:
            return muted_by(alert_labels(alert), silences, now)

        for key, group in list(groups.items()):
            if group.next_flush is None or group.next_flush > now:
                continue
            result = flush(group, now, muted)
            work.changed.add(key)
            work.silenced += [(d, group.receiver, s) for d, s in result.silenced]
            if result.message is not None:
                notice = self.notice(result.message)
                work.envelopes.append(
                    Envelope(notice.delivery_id, group.receiver, key, notice.to_json())
                )
            if result.group is None:
                del groups[key]
                work.deleted.append(key)

    def _commit(self, work: _Round, now: float) -> None:
        groups = self._groups()
        if not (work.consumed or work.changed or work.deleted):
            return
        changed = {
            k: (groups[k].receiver, groups[k].to_json()) for k in work.changed if k in groups
        }
        self.store.commit(
            consumed=work.consumed, changed=changed, deleted=work.deleted,
            envelopes=work.envelopes, silenced=work.silenced, now=now,
        )  # fmt: skip

    def _wait(self, now: float) -> float:
        due = [g.next_flush for g in self._groups().values() if g.next_flush is not None]
        return min([max(t - now, 0.0) for t in due] + [IDLE_S])
