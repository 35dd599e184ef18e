"""Turning simulated calls into API rows of shape A or B, each with its `available_at`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from detector.simulate.calls import ANSWERED, OUTCOMES, CallSet, FloatArray
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
    make = _row_a if shape == "a" else _row_b
    rows: list[Row] = []
    for i in range(len(calls)):
        acct = accounts[int(calls.account[i])]
        call_id = str(uuid.UUID(bytes=ids[16 * i : 16 * i + 16], version=4))
        trunk = acct.trunks[int(trunk_pick[i] * len(acct.trunks))]
        row = make(calls, i, acct, _Extra(call_id, trunk, float(mos[i]), times))
        row[HIDDEN_FIELD] = times.available_iso[i]
        rows.append(row)
    return rows, times.available


def _common(calls: CallSet, i: int, times: Timing, trunk: str) -> Row:
    """Fields both shapes share."""
    talk = float(calls.talk[i])
    outbound = bool(calls.outbound[i])
    to_num = str(calls.to_num[i])
    return {
        "hangup_cause": OUTCOMES[int(calls.outcome[i])].cause,
        "cost": call_cost(to_num, talk, outbound),
        "currency": "INR",
        "start_time": times.start[i],
        "answer_time": times.answer[i],
        "end_time": times.end[i],
        "trunk_id": trunk,
        "context": "sip-trunking",
    }


@dataclass(frozen=True)
class _Extra:
    """Per-row values drawn outside the call columns."""

    call_id: str
    trunk: str
    mos: float
    times: Timing


def _row_a(calls: CallSet, i: int, acct: Account, extra: _Extra) -> Row:
    """A shape-A row (the seed page's fields plus the account and ring time)."""
    return {
        "call_uuid": extra.call_id,
        "account_auth_id": acct.auth_id,
        "from_number": str(calls.from_num[i]),
        "to_number": str(calls.to_num[i]),
        "direction": "outbound" if calls.outbound[i] else "inbound",
        "status": OUTCOMES[int(calls.outcome[i])].status,
        "duration_seconds": int(calls.talk[i]),
        "ring_duration_seconds": int(calls.ring[i]),
        **_common(calls, i, extra.times, extra.trunk),
    }


def _row_b(calls: CallSet, i: int, acct: Account, extra: _Extra) -> Row:
    """A shape-B row (current docs: underscored status, numeric cause code, billsec)."""
    outcome = OUTCOMES[int(calls.outcome[i])]
    talk, ring = int(calls.talk[i]), int(calls.ring[i])
    call_id, times, mos = extra.call_id, extra.times, extra.mos
    common = _common(calls, i, times, extra.trunk)
    return {
        "uuid": call_id,
        "account_id": acct.internal_id,
        "account_auth_id": acct.auth_id,
        "caller_id_number": str(calls.from_num[i]),
        "destination_number": str(calls.to_num[i]),
        "call_direction": "outbound" if calls.outbound[i] else "inbound",
        "status": outcome.status.replace("-", "_"),
        "duration": talk + ring,
        "billsec": talk,
        "ring_time": ring,
        "hangup_cause_code": outcome.code,
        "hangup_cause_name": outcome.cause.replace("_", " ").title(),
        "hangup_source": "callee" if talk else "system",
        "total_cost": common["cost"],
        "mos": mos if talk else None,
        "sip_call_id": f"{call_id}@sim",
        "sip_user_agent": "SimSwitch/1.0",
        "region": "ap-south-1",
        "created_at": times.available_iso[i],
        "updated_at": times.available_iso[i],
        **common,
    }
