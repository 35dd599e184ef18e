"""Incidents of a world: the kind registry, and where, when and how strong each one happens.

A kind (`Kind`) knows its durations, directions and timing, proposes an incident for an
account at a time and grade (`plan`: how strong, against the analyst's line of `grades.py`),
and changes traffic: `recast` rewrites the account's ordinary calls inside the window (a
no-answer surge, a flatline), `added` draws the calls the incident brings (a robocall burst).
Adding a kind is one class and one `KINDS` entry; under-threshold kinds for the anomaly
models (slow drift, a night shift, a new destination mix) fit the same two hooks.

Placement, per kind in registry order (each kind from its own random stream):
- `per_type` incidents (6 in a 500-account world: two per size band, so each band gets each
  type where the type can happen there), each on its own account, so an alert on an account
  with an incident at another time is a false alert;
- grades 60 % clear, 20 % near, 20 % subtle (`grades.grade_plan`); directions rotate through
  outbound, inbound and both for the kinds that have one;
- start uniform over the world from 2 h in (flatline: from 1 day in, so the account has a
  day of history to be judged against); IRSF prefers nights and weekends (70 % of tries in
  the account's local 22:00–06:00 or on Sat/Sun), as takeovers do; nights and weekends are
  open to every kind;
- an account and time that cannot carry the grade (too quiet for a clear no-answer surge,
  too busy for a subtle flatline) is redrawn, up to 300 tries in the band, then 300 in any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np

from detector.simulate.incidents import Label
from detector.simulate.world import seeds
from detector.simulate.world.accounts import WorldAccount
from detector.simulate.world.columns import BoolArray, Calls, empty
from detector.simulate.world.grades import grade_of, grade_plan
from detector.simulate.world.norms import Norm
from detector.simulate.world.profiles import BANDS
from detector.simulate.world.traffic import Book

HOUR = 3600.0
TRIES = 300


@dataclass(frozen=True)
class Incident:
    """One labelled incident of a world."""

    number: int
    type: str
    account: int
    auth_id: str
    band: str
    start: float
    end: float
    grade: str
    direction: str | None
    dial: float
    """The intensity the kind set (units per `grades.py`)."""
    line: float
    """The analyst's line for this account and window, in the dial's units."""
    usual: float
    """The account's usual level of what the dial measures, for the detail."""
    detail: str
    params: tuple[tuple[str, float], ...] = ()
    lingers: float = 0.0
    """Seconds after `end` until the incident's own calls have all ended (its label ends then)."""

    def param(self, name: str) -> float:
        """A kind-specific drawn value."""
        return dict(self.params)[name]

    def covers(self, calls: Calls) -> BoolArray:
        """Which of the account's calls start inside the incident's window."""
        mask: BoolArray = (calls.start >= self.start) & (calls.start < self.end)
        return mask

    def label(self) -> Label:
        """The ground-truth line for this incident."""
        end = _utc(self.end + self.lingers)
        return Label(self.auth_id, self.type, _utc(self.start), end, self.grade,
                     self.direction or "", self.detail, self.band)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """A kind's proposal: when it ends, how strong, and the words for its label."""

    end: float
    dial: float
    line: float
    usual: float
    detail: str
    params: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Placing:
    """What a kind plans against: the account, a start, a direction, a grade, the world's end."""

    account: WorldAccount
    start: float
    direction: str | None
    grade: str
    limit: float
    norm: Callable[[float, float], Norm]


class Kind:
    """Base of the incident kinds: defaults for timing, and no change to traffic."""

    name = ""
    durations = (HOUR, HOUR)
    directions: tuple[str | None, ...] = (None,)
    night_bias = False
    earliest_s = 2 * HOUR

    def duration(self, rng: np.random.Generator) -> float:
        """A duration in the kind's range, log-uniform."""
        lo, hi = self.durations
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """An incident at `at`, or None when this account and time cannot carry the grade."""
        raise NotImplementedError

    def lingers(self, plan: Plan) -> float:
        """How long the incident's calls can still run after the last one starts (a label's
        window must reach the end of its calls: a detector sees a call only when it ends).
        The kinds whose calls last minutes leave it to the scorer's grace."""
        return 0.0

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """Calls the incident brings (all of them, drawn once)."""
        return empty()

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """The account's ordinary calls of one chunk as the incident changes them."""
        return calls


def whole(value: float, line: float) -> int:
    """A count dial rounded away from the line, so rounding never changes the grade.

    >>> whole(10.4, 10), whole(9.6, 10)
    (11, 9)
    """
    return max(1, int(np.ceil(value) if value >= line else np.floor(value)))


def place(
    seed: int,
    accounts: tuple[WorldAccount, ...],
    kinds: dict[str, Kind],
    span: tuple[float, float],
    per_type: int,
    norm: Callable[[WorldAccount, float, float], Norm],
) -> tuple[Incident, ...]:
    """Every incident of a world (see the module docstring for the rules)."""
    free = {a.index for a in accounts}
    out: list[Incident] = []
    for type_no, kind in enumerate(kinds.values()):
        rng = seeds.stream(seed, seeds.PLACEMENT, type_no)
        grades = grade_plan(rng, per_type)
        band0, dir0 = int(rng.integers(3)), int(rng.integers(len(kind.directions)))
        for j in range(per_type):
            wanted = (BANDS[(band0 + j) % 3], kind.directions[(dir0 + j) % len(kind.directions)])
            found = _place_one(rng, kind, accounts, free, span, wanted, grades[j], norm)
            if found is not None:
                account, plan, start = found
                free.discard(account.index)
                number = 100 * type_no + j
                out.append(_incident(number, kind, account, start, wanted[1], plan))
    return tuple(out)


def _place_one(
    rng: np.random.Generator,
    kind: Kind,
    accounts: tuple[WorldAccount, ...],
    free: set[int],
    span: tuple[float, float],
    wanted: tuple[str, str | None],
    grade: str,
    norm: Callable[[WorldAccount, float, float], Norm],
) -> tuple[WorldAccount, Plan, float] | None:
    """An account, a start and a plan for one incident, or None when nothing fits."""
    band, direction = wanted
    in_band = [a for a in accounts if a.index in free and a.band == band]
    anyone = [a for a in accounts if a.index in free]
    earliest = span[0] + kind.earliest_s
    latest = span[1] - kind.durations[0]
    if not anyone or latest <= earliest:
        return None
    for attempt in range(2 * TRIES):
        pool = in_band if attempt < TRIES and in_band else anyone
        account = pool[int(rng.integers(len(pool)))]
        start = float(np.floor(rng.uniform(earliest, latest)))
        if kind.night_bias and not _off_hours(account, start) and rng.random() < 0.7:
            continue
        at = Placing(account, start, direction, grade, span[1], partial(norm, account))
        plan = kind.plan(rng, at)
        if plan is not None and plan.end <= span[1]:
            return account, plan, start
    return None


def _off_hours(account: WorldAccount, when: float) -> bool:
    """Whether `when` is night (22:00–06:00) or a weekend in the account's timezone."""
    local = datetime.fromtimestamp(when, ZoneInfo(account.timezone))
    return local.weekday() >= 5 or local.hour >= 22 or local.hour < 6


def _incident(
    number: int, kind: Kind, account: WorldAccount, start: float, direction: str | None,
    plan: Plan,
) -> Incident:  # fmt: skip
    """The incident a plan describes, graded by its dial against its line."""
    return Incident(
        number=number, type=kind.name, account=account.index, auth_id=account.auth_id,
        band=account.band, start=start, end=float(np.floor(plan.end)),
        grade=grade_of(plan.dial, plan.line),
        direction=direction, dial=plan.dial, line=plan.line, usual=plan.usual,
        detail=plan.detail, params=plan.params, lingers=kind.lingers(plan),
    )  # fmt: skip


def _utc(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=UTC)
