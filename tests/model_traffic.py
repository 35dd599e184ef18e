"""Synthetic per-account traffic for the model tests: a rate per local hour, Poisson calls with
day-to-day swings, records delivered when calls end (like the feed), and a replay helper."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from detector.domain import CDR, Direction, Finding, Status
from detector.models.account import AccountModelState
from detector.models.scorer import AnomalyModel

START = datetime(2024, 3, 3, 18, 30, tzinfo=UTC)  # Monday 00:00 in India (UTC+05:30)
IST = timedelta(hours=5, minutes=30)
BUSINESS = (0, 0, 0, 0, 0, 0, 0, 0.1, 0.5, 1, 1, 1, 0.8, 0.7, 1, 1, 1, 0.8, 0.4, 0.1, 0, 0, 0, 0)
"""Relative rate per local hour of a business account (09:00-18:00, nothing at night)."""


@dataclass(frozen=True)
class Habits:
    """How an account calls; every share is of its calls (international: of outbound ones)."""

    answer: float = 0.6
    no_answer: float = 0.3
    outbound: float = 0.85
    international: float = 0.01
    talk_median_s: float = 90.0
    talk_sigma: float = 0.9
    callers: tuple[str, ...] = ("+911140000001", "+911140000002", "+911140000003")
    day_swing: float = 0.1
    """Sigma of the lognormal factor of each day's volume."""


Rate = Callable[[datetime], float]
"""Expected calls per hour at a local time."""


def business(peak_per_hour: float, weekend: float = 0.3) -> Rate:
    """The business shape at `peak_per_hour`, `weekend` of it on Saturdays and Sundays."""

    def rate(local: datetime) -> float:
        factor = weekend if local.weekday() >= 5 else 1.0
        return peak_per_hour * BUSINESS[local.hour] * factor

    return rate


@dataclass
class Traffic:
    """CDRs of one account drawn from a rate, with knobs the incident helpers turn."""

    account: str
    habits: Habits = field(default_factory=Habits)
    seed: int = 1
    cdrs: list[CDR] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.serial = 0

    def calls(self, rate: Rate, start: datetime, end: datetime, **change: object) -> Traffic:
        """Add Poisson calls at `rate` (local time) in [start, end), in 15-minute steps;
        `change` overrides `Habits` fields for these calls (e.g. international=0.3)."""
        habits = Habits(**{**self.habits.__dict__, **change})
        day_factor: dict[int, float] = {}
        at = start
        while at < end:
            local = at + IST
            day = (local - datetime(1970, 1, 1, tzinfo=UTC)).days
            if day not in day_factor:
                day_factor[day] = math.exp(self.rng.gauss(0.0, habits.day_swing))
            mean = rate(local) / 4.0 * day_factor[day]
            for _ in range(_poisson(self.rng, mean)):
                self.cdrs.append(self.one(at + timedelta(seconds=self.rng.randrange(900)), habits))
            at += timedelta(minutes=15)
        return self

    def burst(self, at: datetime, count: int, span: timedelta, **change: object) -> Traffic:
        """`count` calls spread evenly over `span` from `at`."""
        habits = Habits(**{**self.habits.__dict__, **change})
        step = span / count
        for n in range(count):
            self.cdrs.append(self.one(at + n * step, habits))
        return self

    def one(self, start: datetime, habits: Habits, talk_s: float | None = None) -> CDR:
        """One call with the habits' outcome, direction, destination and talk laws."""
        rng = self.rng
        self.serial += 1
        roll = rng.random()
        status = Status.FAILED
        if roll < habits.answer:
            status = Status.ANSWERED
        elif roll < habits.answer + habits.no_answer:
            status = Status.NO_ANSWER
        outbound = rng.random() < habits.outbound
        foreign = outbound and rng.random() < habits.international
        talk = 0.0
        if status is Status.ANSWERED:
            talk = talk_s or max(1.0, rng.lognormvariate(math.log(habits.talk_median_s),
                                                           habits.talk_sigma))  # fmt: skip
        caller = rng.choice(habits.callers) if outbound else f"+9198{rng.randrange(10**8):08d}"
        callee = (
            f"+4420{rng.randrange(10**8):08d}" if foreign else f"+9199{rng.randrange(10**8):08d}"
        )
        return make_cdr(self.account, self.serial, start, status, talk, outbound, caller, callee,
                        "GB" if foreign else "IN")  # fmt: skip


def make_cdr(
    account: str, serial: int, start: datetime, status: Status, talk: float, outbound: bool,
    caller: str, callee: str, country: str,
) -> CDR:  # fmt: skip
    """A CDR with the fields the model reads; it ends after 8 s of ringing plus its talk."""
    answered = status is Status.ANSWERED
    return CDR(
        call_id=f"{account}-{serial:08d}",
        account=account,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        status=status,
        start=start,
        answer=start + timedelta(seconds=8) if answered else None,
        end=start + timedelta(seconds=8 + talk),
        talk_s=talk,
        ring_s=8.0,
        from_number=caller,
        to_number=callee,
        cost=round(talk / 60 * 0.45, 2),
        dest_country=country,
        dest_type="MOBILE",
        trunk="trunk-1",
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, normal approximation for large ones)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def replay(
    model: AnomalyModel,
    cdrs: Iterable[CDR],
    state: AccountModelState | None = None,
    *,
    lateness: timedelta = timedelta(minutes=10),
    settle: bool = True,
) -> tuple[list[Finding], AccountModelState]:
    """Feed records in the order the feed shows them (when calls end), advancing the
    watermark (newest start − `lateness`) after each; settle: judge everything at the end."""
    state = state or model.new_state()
    found: list[Finding] = []
    newest: datetime | None = None
    account = ""
    for cdr in sorted(cdrs, key=lambda c: (c.end, c.call_id)):
        account = cdr.account
        found += model.observe(cdr, state)
        newest = cdr.start if newest is None or cdr.start > newest else newest
        found += model.advance(account, newest - lateness, state)
    if settle and newest is not None:
        found += model.advance(account, newest + model.config.horizon + timedelta(hours=1), state)
    return found, state


def days(n: float) -> timedelta:
    """`n` days."""
    return timedelta(days=n)
