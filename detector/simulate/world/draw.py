"""A world: its accounts and labelled incidents, drawn from a seed; its calls on demand.

`draw_world(seed)` is cheap (accounts, parameters and incident plans, no calls); the calls
are generated only when `World.stream` is iterated, chunk by chunk, so a 500-account,
14-day world (~40 million calls) never sits in memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, overload

import numpy as np

from detector.domain import CDR
from detector.errors import ConfigError
from detector.simulate.incidents import Label
from detector.simulate.options import DEFAULT_START
from detector.simulate.wire import Row
from detector.simulate.world.accounts import HOME_ZONE, WorldAccount, draw_account
from detector.simulate.world.incidents import Incident, place
from detector.simulate.world.kinds import KINDS
from detector.simulate.world.norms import Norm
from detector.simulate.world.rhythm import SLOT_S, SlotTable, expected_calls, slot_table

DEFAULT_ACCOUNTS = 500
DEFAULT_DAYS = 14.0
INCIDENTS_PER_TYPE = 6
"""Two per size band. Smaller worlds get one per type per 22 accounts (at least one), so at
least half of the accounts stay clean for the false-alert rate."""
LONGEST_DAYS = 366.0


@dataclass(frozen=True)
class World:
    """Accounts (busiest not first: in draw order) and incidents of one seed."""

    seed: int
    start: datetime
    days: float
    accounts: tuple[WorldAccount, ...]
    incidents: tuple[Incident, ...]

    @property
    def start_s(self) -> float:
        """The world's first second, epoch."""
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        """The first second after the world, epoch."""
        return self.start_s + self.days * 86_400.0

    @property
    def end(self) -> datetime:
        """The first instant after the world."""
        return self.start + timedelta(days=self.days)

    @property
    def slots(self) -> int:
        """How many 15-minute slots the world spans."""
        return int(np.ceil(self.days * 86_400.0 / SLOT_S))

    def table(self, zone: str) -> SlotTable:
        """Local calendar facts of every slot in `zone`."""
        return slot_table(zone, self.start_s, self.slots)

    def norm(self, account: WorldAccount, t0: float, t1: float) -> Norm:
        """What is usual for `account` in [t0, t1)."""
        return Norm(account, self.table(account.timezone), self.start_s, t0, t1)

    def labels(self) -> list[Label]:
        """Ground truth, one label per incident, by start time."""
        return sorted((i.label() for i in self.incidents), key=lambda lb: (lb.start, lb.account))

    def timezones(self, home: str = HOME_ZONE) -> dict[str, str]:
        """Account → timezone for the accounts outside `home` (a rule set's `timezones`)."""
        return {a.auth_id: a.timezone for a in self.accounts if a.timezone != home}

    def expected_calls(self, accounts: Collection[str | int] | None = None) -> float:
        """Expected calls over the whole world (or the given accounts), before incidents."""
        chosen = self.select(accounts)
        start, end = self.start_s, self.end_s
        return sum(
            expected_calls(a.rhythm, self.table(a.timezone), start, start, end) for a in chosen
        )

    def select(self, accounts: Collection[str | int] | None) -> list[WorldAccount]:
        """The accounts named by index or auth id (all when None); unknown ones are errors."""
        if accounts is None:
            return list(self.accounts)
        by_id = {a.auth_id: a for a in self.accounts}
        chosen = []
        for key in accounts:
            if isinstance(key, int) and 0 <= key < len(self.accounts):
                chosen.append(self.accounts[key])
            elif isinstance(key, str) and key in by_id:
                chosen.append(by_id[key])
            else:
                raise ConfigError(f"world {self.seed}: no account {key!r}")
        return sorted(chosen, key=lambda a: a.index)

    @overload
    def stream(
        self,
        accounts: Collection[str | int] | None = None,
        *,
        form: Literal["rows"] = "rows",
        shape: Literal["a", "b"] = "a",
    ) -> Iterator[Row]: ...

    @overload
    def stream(
        self,
        accounts: Collection[str | int] | None = None,
        *,
        form: Literal["cdrs"],
        shape: Literal["a", "b"] = "a",
    ) -> Iterator[CDR]: ...

    def stream(
        self,
        accounts: Collection[str | int] | None = None,
        *,
        form: Literal["rows", "cdrs"] = "rows",
        shape: Literal["a", "b"] = "a",
    ) -> Iterator[Row] | Iterator[CDR]:
        """The calls of all accounts (or a shard) in availability order: wire rows (with
        `available_at`, as `write_rows_jsonl` writes them) or normalised `CDR`s."""
        from detector.simulate.world import rows, stream  # noqa: PLC0415 - they import World

        chosen = self.select(accounts)
        batches = stream.batches(self, chosen)
        if form == "cdrs":
            return rows.cdrs(self, batches, shape)
        return rows.rows(self, batches, shape)


def draw_world(
    seed: int,
    accounts: int = DEFAULT_ACCOUNTS,
    days: float = DEFAULT_DAYS,
    start: datetime = DEFAULT_START,
    incidents_per_type: int | None = None,
) -> World:
    """World `seed`: `accounts` accounts over `days` from `start`, with labelled incidents."""
    _check(seed, accounts, days, start)
    drawn = [draw_account(seed, i, days) for i in range(accounts)]
    seen: set[str] = set()
    for i, account in enumerate(drawn):
        if account.auth_id in seen:  # one in ~10^4 worlds: keep ids unique
            drawn[i] = dataclasses.replace(account, auth_id=f"MA_{account.index:08x}")
        seen.add(drawn[i].auth_id)
    per_type = incidents_per_type
    if per_type is None:
        per_type = min(INCIDENTS_PER_TYPE, max(1, accounts // (2 * len(KINDS))))
    bare = World(seed, start, float(days), tuple(drawn), ())
    span = (bare.start_s, bare.end_s)
    incidents = place(seed, bare.accounts, KINDS, span, per_type, bare.norm)
    return dataclasses.replace(bare, incidents=incidents)


def _check(seed: int, accounts: int, days: float, start: datetime) -> None:
    """Reject parameters no world can have, naming them."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"world seed must be a whole number >= 0, got {seed!r}")
    if accounts < 1:
        raise ConfigError(f"a world needs at least one account, got {accounts}")
    if not 0 < days <= LONGEST_DAYS:
        raise ConfigError(f"world days must be in (0, {LONGEST_DAYS:.0f}], got {days}")
    if start.tzinfo is None:
        raise ConfigError("world start needs a timezone, e.g. 2026-03-02T03:30:00Z")
