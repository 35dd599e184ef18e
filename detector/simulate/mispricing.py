"""Labelled billing mistakes, opt-in: a share of the calls carry a cost the tariff never charges.

Off unless a scenario sets `chaos: {cost_mismatch_rate: 0.01}`; then each call is mispriced
with that probability, drawn from its own random stream, so turning it on changes no other
row, id or label of the run. Each mistake is recorded as a `Mispriced` label (written by
`simulate --mispriced-out FILE`) that scores `cdr-detector report billing --labels FILE`.

Kinds, the mistakes a rating engine makes:

    wrong_rate          an answered call rated at 1.5-3x its destination's rate
    per_second          an answered call billed per second instead of in 60-s pulses
    unanswered_charged  an unanswered outbound call billed a minute instead of the attempt fee
    free_call           an answered call billed nothing
    double_charge       a call billed twice

Every mistake moves the cost by at least `MIN_DIFFERENCE`, so a reconciliation whose
tolerance is below it can find them all (a per-second bill of a call lasting whole minutes
equals the pulse bill, so such a call gets a wrong rate instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detector.simulate.calls import ANSWERED, CallSet
from detector.simulate.dialplan import call_cost, rate_per_minute
from detector.simulate.wire import Row

MIN_DIFFERENCE = 0.05
"""Smallest change of a mispriced cost, in the account currency (INR)."""

KINDS = ("wrong_rate", "per_second", "unanswered_charged", "free_call", "double_charge")


@dataclass(frozen=True)
class Mispriced:
    """Ground truth for one mispriced call: what it was billed and what the tariff charges."""

    call_id: str
    account: str
    kind: str
    billed: float
    expected: float

    def to_json(self) -> dict[str, object]:
        """The labels-JSONL line."""
        return {"call_id": self.call_id, "account": self.account, "kind": self.kind,
                "billed": self.billed, "expected": self.expected}  # fmt: skip


def misprice(
    rng: np.random.Generator, rows: list[Row], calls: CallSet, rate: float
) -> list[Mispriced]:
    """Change the cost of about `rate` of `rows` (parallel to `calls`) in place; return labels."""
    if rate <= 0:
        return []
    picks = np.nonzero(rng.random(len(rows)) < rate)[0]
    kinds = rng.integers(0, len(KINDS), size=len(picks))
    factors = rng.uniform(1.5, 3.0, size=len(picks))
    labels: list[Mispriced] = []
    for i, kind, factor in zip(picks.tolist(), kinds.tolist(), factors.tolist(), strict=True):
        found = _mistake(calls, i, KINDS[kind], factor)
        if found is None:
            continue
        name, billed = found
        row = rows[i]
        expected = float(row["cost"])  # type: ignore[arg-type]
        row["cost"] = billed
        if "total_cost" in row:
            row["total_cost"] = billed
        call_id = str(row.get("call_uuid") or row.get("uuid"))
        labels.append(Mispriced(call_id, str(row["account_auth_id"]), name, billed, expected))
    return labels


def _mistake(calls: CallSet, i: int, kind: str, factor: float) -> tuple[str, float] | None:
    """(kind, billed cost) of one mistake for call `i`, falling back to a kind that applies."""
    talk, outbound = float(calls.talk[i]), bool(calls.outbound[i])
    number = str(calls.to_num[i])
    expected = call_cost(number, talk, outbound)
    answered = int(calls.outcome[i]) == ANSWERED
    if not answered:
        if not outbound:
            return None  # inbound unanswered calls are free: nothing to mischarge visibly
        return "unanswered_charged", round(rate_per_minute(number), 4)
    options = {
        "wrong_rate": round(expected * factor, 4),
        "per_second": round(talk / 60.0 * _rate(number, outbound), 4),
        "free_call": 0.0,
        "double_charge": round(expected * 2, 4),
    }
    order = [kind, "wrong_rate"] if kind in options else ["wrong_rate"]
    for name in order:
        billed = options[name]
        if math.fabs(billed - expected) >= MIN_DIFFERENCE:
            return name, billed
    return None


def _rate(number: str, outbound: bool) -> float:
    """The per-minute rate the tariff applies to a call (inbound calls have one rate)."""
    return rate_per_minute(number) if outbound else call_cost(number, 60.0, False)
