"""Injecting a scenario's incidents into background traffic, and the labels that record them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from detector.domain import iso
from detector.errors import ConfigError
from detector.simulate import attacks, disruptions
from detector.simulate.calls import CallSet, concat
from detector.simulate.injection import Effect, Window
from detector.simulate.profile import Account
from detector.simulate.scenario import IncidentSpec, Scenario

Kind = Callable[[np.random.Generator, Window, CallSet], Effect]
KINDS: dict[str, Kind] = {
    "robocall": attacks.robocall,
    "irsf": attacks.irsf,
    "wangiri": attacks.wangiri,
    "traffic_pumping": attacks.traffic_pumping,
    "sequential_dialing": attacks.sequential_dialing,
    "cli_spoofing": attacks.cli_spoofing,
    "no_answer_surge": disruptions.no_answer_surge,
    "route_failure": disruptions.route_failure,
    "flatline": disruptions.flatline,
}


@dataclass(frozen=True)
class Label:
    """Ground truth for one injected incident: account id, type and [start, end) in UTC.

    World incidents (`detector.simulate.world`) also carry the analyst's `grade` (clear, near
    or subtle), the `direction` they hit where the type has one, a short human `detail` and
    the account's size `band`; scenario incidents leave them empty.
    """

    account: str
    type: str
    start: datetime
    end: datetime
    grade: str = ""
    direction: str = ""
    detail: str = ""
    band: str = ""

    def to_json(self) -> dict[str, str]:
        """The labels-JSONL line: ISO 8601 UTC times, and the world fields that are set."""
        line = {"account": self.account, "type": self.type, "start": iso(self.start),
                "end": iso(self.end)}  # fmt: skip
        extra = {"grade": self.grade, "direction": self.direction, "detail": self.detail,
                 "band": self.band}  # fmt: skip
        line.update({k: v for k, v in extra.items() if v})
        return line


def inject(
    seed: int,
    scenario: Scenario,
    accounts: list[Account],
    span: tuple[datetime, datetime],
    calls: CallSet,
) -> tuple[CallSet, list[Label]]:
    """Apply every incident in order; incidents starting after the span are skipped."""
    labels: list[Label] = []
    for number, spec in enumerate(scenario.incidents):
        window = _window(spec, number, accounts, span)
        if window is None:
            continue
        rng = np.random.default_rng([seed, 7919, number])
        effect = KINDS[spec.type](rng, window, calls)
        kept = calls if effect.drop is None else calls.select(~effect.drop)
        calls = concat([kept, effect.add])
        labels.append(Label(window.account.auth_id, spec.type, _utc(window.start),
                            _utc(window.end)))  # fmt: skip
    return calls, labels


def _window(
    spec: IncidentSpec, number: int, accounts: list[Account], span: tuple[datetime, datetime]
) -> Window | None:
    """The incident's account and time window, clipped to the simulated span."""
    index = _account_index(spec.account, accounts, number)
    begin = span[0] + spec.start if isinstance(spec.start, timedelta) else spec.start
    end = min(begin + spec.duration, span[1])
    begin = max(begin, span[0])
    if begin >= end:
        return None
    return Window(
        index, accounts[index], begin.timestamp(), end.timestamp(), spec.intensity, spec.longest
    )


def _account_index(account: str | int, accounts: list[Account], number: int) -> int:
    """An index (modulo the account count) or an account id, resolved to a list index."""
    if isinstance(account, int):
        return account % len(accounts)
    for i, candidate in enumerate(accounts):
        if candidate.auth_id == account:
            return i
    if account.isdigit():
        return int(account) % len(accounts)
    raise ConfigError(f"scenario: incidents[{number}].account: no account {account!r}")


def _utc(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=UTC)
