"""Turning simulated calls into API rows of shape A or B, each with its `available_at`.

`row_a` / `row_b` build one row from plain values; today's generator (`build_rows`) and the
world generator (`detector.simulate.world.rows`) both write their rows through them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from detector.simulate.calls import ANSWERED, OUTCOMES, CallSet, FloatArray, Outcome
from detector.simulate.dialplan import call_cost
from detector.simulate.profile import Account
from detector.simulate.scenario import Chaos

Row = dict[str, object]
MIN_LAG_S, MAX_LAG_S = 2.0, 8.0
HIDDEN_FIELD = "available_at"


@dataclass(frozen=True)
class Timing:
    """Per-call wire times as ISO strings, plus epoch seconds of availability."""

    start: list[str]
    answer: list[str | None]
    end: list[str]
    available: FloatArray
    available_iso: list[str]


def _iso(epoch: FloatArray) -> list[str]:
    """Epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`, vectorised."""
    text = np.datetime_as_string(np.floor(epoch).astype("datetime64[s]"), unit="s")
    return [f"{t}Z" for t in text]


def timing(rng: np.random.Generator, calls: CallSet, chaos: Chaos) -> Timing:
    """Wire times (shifted by any clock skew) and when each row shows up in the feed."""
    n = len(calls)
    lag = rng.uniform(MIN_LAG_S, MAX_LAG_S, n)
    late = rng.random(n) < chaos.late_fraction
    lag = lag + np.where(late, rng.uniform(60.0, 3600.0, n), 0.0)
    available = calls.end + lag
    skew = chaos.clock_skew_s
    answer = _iso(calls.start + calls.ring + skew)
    answered = calls.outcome == ANSWERED
    return Timing(
        start=_iso(calls.start + skew),
        answer=[a if ok else None for a, ok in zip(answer, answered, strict=True)],
        end=_iso(calls.end + skew),
        available=available,
        available_iso=_iso(available),
    )


def build_rows(
    rng: np.random.Generator, calls: CallSet, accounts: list[Account], shape: str, chaos: Chaos
) -> tuple[list[Row], FloatArray]:
    """Wire rows of the given shape and their availability times (epoch seconds)."""
    times = timing(rng, calls, chaos)
    ids = rng.bytes(16 * len(calls))
    trunk_pick = rng.random(len(calls))
    mos = np.round(rng.uniform(3.6, 4.5, len(calls)), 2)
    rows: list[Row] = []
    for i in range(len(calls)):
        acct = accounts[int(calls.account[i])]
        call_id = str(uuid.UUID(bytes=ids[16 * i : 16 * i + 16], version=4))
        trunk = acct.trunks[int(trunk_pick[i] * len(acct.trunks))]
        outcome = OUTCOMES[int(calls.outcome[i])]
        talk, ring = int(calls.talk[i]), int(calls.ring[i])
        outbound = bool(calls.outbound[i])
        to_num = str(calls.to_num[i])
        cost = call_cost(to_num, talk, outbound)
        common = (cost, times.start[i], times.answer[i], times.end[i], trunk)
        call = (call_id, str(calls.from_num[i]), to_num, outbound, outcome, talk, ring)
        if shape == "a":
            row = row_a(call, acct.auth_id, common)
        else:
            row = row_b(call, acct.auth_id, acct.internal_id, float(mos[i]),
                        times.available_iso[i], common)  # fmt: skip
        row[HIDDEN_FIELD] = times.available_iso[i]
        rows.append(row)
    return rows, times.available


Call = tuple[str, str, str, bool, Outcome, int, int]
"""What both shapes say about a call: id, from, to, outbound, outcome, talk s, ring s."""
Common = tuple[float, str, str | None, str, str]
"""Also in both shapes: cost, start, answer (None when unanswered) and end as ISO text, trunk."""


def row_a(call: Call, auth_id: str, common: Common) -> Row:
    """A shape-A row (the seed page's fields plus the account and ring time)."""
    call_id, from_num, to_num, outbound, outcome, talk, ring = call
    cost, start, answer, end, trunk = common
    return {
        "call_uuid": call_id,
        "account_auth_id": auth_id,
        "from_number": from_num,
        "to_number": to_num,
        "direction": "outbound" if outbound else "inbound",
        "status": outcome.status,
        "duration_seconds": talk,
        "ring_duration_seconds": ring,
        "hangup_cause": outcome.cause,
        "cost": cost,
        "currency": "INR",
        "start_time": start,
        "answer_time": answer,
        "end_time": end,
        "trunk_id": trunk,
        "context": "sip-trunking",
    }


def row_b(
    call: Call, auth_id: str, internal_id: int, mos: float, published: str, common: Common
) -> Row:
    """A shape-B row (current docs: underscored status, numeric cause code, billsec)."""
    call_id, from_num, to_num, outbound, outcome, talk, ring = call
    cost, start, answer, end, trunk = common
    return {
        "uuid": call_id,
        "account_id": internal_id,
        "account_auth_id": auth_id,
        "caller_id_number": from_num,
        "destination_number": to_num,
        "call_direction": "outbound" if outbound else "inbound",
        "status": outcome.status.replace("-", "_"),
        "duration": talk + ring,
        "billsec": talk,
        "ring_time": ring,
        "hangup_cause_code": outcome.code,
        "hangup_cause_name": outcome.cause.replace("_", " ").title(),
        "hangup_source": "callee" if talk else "system",
        "total_cost": cost,
        "mos": mos if talk else None,
        "sip_call_id": f"{call_id}@sim",
        "sip_user_agent": "SimSwitch/1.0",
        "region": "ap-south-1",
        "created_at": published,
        "updated_at": published,
        "hangup_cause": outcome.cause,
        "cost": cost,
        "currency": "INR",
        "start_time": start,
        "answer_time": answer,
        "end_time": end,
        "trunk_id": trunk,
        "context": "sip-trunking",
    }
