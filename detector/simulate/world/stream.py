"""A world's calls in availability order, generated one time chunk at a time.

For each 3-hour chunk, every chosen account draws the calls *starting* in it (background from
its own stream, then each of its incidents recasts or adds calls), and they join the calls
still pending from earlier chunks. A call becomes available when it ends plus its publishing
lag, so every call drawn later starts, and becomes available, after this chunk ends: the
pending calls available before the chunk's end are final and are emitted sorted by
(availability, start); the rest wait. Memory holds one chunk of calls plus the calls still in
progress, whatever the world's length (~60 MB of columns for a full 500-account chunk).

A shard (a subset of accounts) yields exactly those accounts' calls of the full stream: every
draw is keyed by account, incident and chunk (`seeds.py`), never by position in the world.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from detector.simulate.world import seeds
from detector.simulate.world.accounts import WorldAccount
from detector.simulate.world.columns import Calls, concat, empty
from detector.simulate.world.draw import World
from detector.simulate.world.incidents import Incident
from detector.simulate.world.kinds import KINDS
from detector.simulate.world.rhythm import SLOT_S
from detector.simulate.world.traffic import Book, background, book

CHUNK_S = 3 * 3600.0
SLOTS_PER_CHUNK = int(CHUNK_S // SLOT_S)


class _Account:
    """One chosen account while streaming: its numbers and incidents, and incident calls."""

    def __init__(self, world: World, account: WorldAccount) -> None:
        self.account = account
        self.pools: Book = book(world.seed, account)
        self.table = world.table(account.timezone)
        self.incidents = [i for i in world.incidents if i.account == account.index]
        self._added: dict[int, Calls] = {}

    def chunk(self, world: World, number: int, t0: float, t1: float) -> Calls:
        """The account's calls starting in [t0, t1)."""
        first = number * SLOTS_PER_CHUNK
        stop = min(first + SLOTS_PER_CHUNK, world.slots)
        calls = background(world.seed, self.account, self.pools, self.table, world.start_s,
                           number, (first, stop))  # fmt: skip
        parts = []
        for incident in self.incidents:
            if incident.start >= t1 or incident.end <= t0:
                continue
            kind = KINDS[incident.type]
            rng = seeds.stream(world.seed, seeds.INCIDENT, incident.number, number)
            calls = kind.recast(rng, incident, self.account, calls)
            added = self._incident_calls(world, incident)
            parts.append(added.select((added.start >= t0) & (added.start < t1)))
            if incident.end <= t1:
                self._added.pop(incident.number, None)
        calls = concat([calls, *parts])
        return calls.select(calls.start < world.end_s)

    def _incident_calls(self, world: World, incident: Incident) -> Calls:
        """Everything the incident adds, drawn once from its own stream."""
        found = self._added.get(incident.number)
        if found is None:
            rng = seeds.stream(world.seed, seeds.INCIDENT, incident.number)
            found = KINDS[incident.type].added(rng, incident, self.account, self.pools)
            self._added[incident.number] = found
        return found


def batches(world: World, accounts: list[WorldAccount]) -> Iterator[Calls]:
    """The chosen accounts' calls in availability order, one batch per chunk."""
    chosen = [_Account(world, a) for a in accounts]
    pending = empty()
    chunks = int(np.ceil(world.slots / SLOTS_PER_CHUNK))
    for number in range(chunks):
        t0 = world.start_s + number * CHUNK_S
        t1 = t0 + CHUNK_S
        calls = concat([pending, *(a.chunk(world, number, t0, t1) for a in chosen)])
        available = calls.available
        final = number == chunks - 1
        ready = np.ones(len(calls), bool) if final else available < t1
        order = np.lexsort((calls.start[ready], available[ready]))
        yield calls.select(np.flatnonzero(ready)[order])
        pending = calls.select(~ready)
