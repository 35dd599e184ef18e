"""Trunk webhook bodies → events: a `Hangup` carries a wire row for the normaliser, a
`CallInitiated` becomes an `Attempt`.

Vobiz documents the two events and what they carry (VOBIZ_API_NOTES.md: CallInitiated for every
outbound attempt with `Allowed` and a `Reason`; Hangup with duration, billsec, ring time, cost,
MOS) but not their field names [A], so both spellings seen in its family are accepted: the CDR
API's own row fields (`call_uuid`, `from_number`, `billsec` …, which the normaliser reads) and
Plivo-style CamelCase (`CallUUID`, `From`, `BillDuration` …), mapped onto them. The body is
JSON, either `{"event": "Hangup", "timestamp": …, "data": {…}}` or the fields at the top level
with `event` (or `Event`) among them. A Hangup without a status gets one from its talk time and
cause, as the API would have written it. Nothing here trusts the body: unknown shapes are
`Refused("malformed")`, and the row still goes through `normalize`, which rejects with reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detector.source.normalize import to_e164
from detector.webhooks.signature import Refused

CAMEL = {
    "CallUUID": "call_uuid", "RequestUUID": "call_uuid", "From": "from_number",
    "To": "to_number", "Direction": "direction", "CallStatus": "status",
    "StartTime": "start_time", "AnswerTime": "answer_time", "EndTime": "end_time",
    "Duration": "duration", "BillDuration": "billsec", "RingTime": "ring_time",
    "HangupCause": "hangup_cause", "HangupCauseName": "hangup_cause",
    "HangupCauseCode": "hangup_cause_code", "TotalCost": "total_cost", "Cost": "cost",
    "Currency": "currency", "TrunkID": "trunk_id", "AccountID": "account_auth_id",
    "Mos": "mos", "MOS": "mos", "Allowed": "allowed", "Reason": "reason",
}  # fmt: skip
"""Plivo-style names → the CDR API's row names."""
_UNANSWERED = {
    "NO_ANSWER": "no_answer", "USER_BUSY": "busy", "CALL_REJECTED": "busy",
    "ORIGINATOR_CANCEL": "cancelled",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hangup:
    """A call ended: its wire row (for `normalize`) and the event time."""

    row: dict[str, Any]
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One outbound attempt (CallInitiated), allowed or refused by the platform."""

    call_id: str
    account: str
    trunk: str
    to: str
    at: datetime
    allowed: bool
    reason: str
    """Why it was refused (e.g. a rate or concurrency limit), "" when allowed."""
    from_number: str = ""


Event = Hangup | Attempt


def parse(body: bytes, timestamp: str | None = None) -> Event:
    """The event in a webhook body; `timestamp` is the timestamp header, if any."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused("malformed", "the body is not JSON") from None
    if not isinstance(doc, dict):
        raise Refused("malformed", "the body is not a JSON object")
    inner = doc.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else doc
    fields = {CAMEL.get(str(k), str(k)): v for k, v in data.items()}
    kind = str(doc.get("event") or doc.get("Event") or fields.get("event") or "").lower()
    at = _time(doc.get("timestamp")) or _time(fields.get("timestamp")) or _time(timestamp)
    if kind in {"hangup", "call_hangup", "callhangup"}:
        return Hangup(_with_status(fields), at or _time(fields.get("end_time")))
    if kind in {"callinitiated", "call_initiated", "initiated"}:
        return _attempt(fields, at or _time(fields.get("start_time")))
    raise Refused("unknown_event", f"event {kind[:40]!r} is neither Hangup nor CallInitiated")


def _attempt(fields: dict[str, Any], at: datetime | None) -> Attempt:
    call_id = fields.get("call_uuid") or fields.get("uuid")
    if not isinstance(call_id, str) or not call_id or at is None:
        raise Refused("malformed", "a CallInitiated needs a call id and a time")
    allowed = fields.get("allowed", True)
    if isinstance(allowed, str):
        allowed = allowed.strip().lower() not in {"false", "0", "no"}
    account = fields.get("account_auth_id") or fields.get("account_id") or ""
    to = fields.get("to_number") or fields.get("destination_number") or ""
    caller = fields.get("from_number") or fields.get("caller_id_number") or ""
    return Attempt(
        call_id[:128], str(account)[:128], str(fields.get("trunk_id") or "")[:128],
        to_e164(str(to)[:64]), at, bool(allowed),
        "" if allowed else str(fields.get("reason") or "")[:64], to_e164(str(caller)[:64]),
    )  # fmt: skip


def _with_status(row: dict[str, Any]) -> dict[str, Any]:
    """The row with a status when it has none: answered if it talked, else from its cause."""
    if row.get("status"):
        return row
    talk = row.get("billsec", row.get("duration_seconds"))
    if isinstance(talk, int | float) and talk > 0:
        return {**row, "status": "answered"}
    cause = str(row.get("hangup_cause") or "").upper().replace(" ", "_")
    return {**row, "status": _UNANSWERED.get(cause, "failed")}


def _time(value: Any) -> datetime | None:
    """An ISO 8601 text or Unix seconds as aware UTC; None when absent or unreadable."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str) and value.strip():
            text = value.strip()
            if text.replace(".", "", 1).isdigit():
                return datetime.fromtimestamp(float(text), UTC)
            parsed = datetime.fromisoformat(text)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
