"""JSON bodies of the simulated API: CDR pages in shape A or B, accounts, partner profile."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from detector.simulate.filters import paging
from detector.simulate.options import SimOptions
from detector.simulate.profile import Customer
from detector.simulate.wire import HIDDEN_FIELD, Row


def public(row: Row) -> Row:
    """The row as sent on the wire: without the simulator's `available_at`."""
    return {k: v for k, v in row.items() if k != HIDDEN_FIELD}


SIP_BY_CAUSE = {
    "NORMAL_CLEARING": 200, "NO_ANSWER": 480, "USER_BUSY": 486, "ORIGINATOR_CANCEL": 487,
    "CALL_REJECTED": 603, "INVALID_NUMBER_FORMAT": 484, "UNALLOCATED_NUMBER": 404,
    "SWITCH_CONGESTION": 503, "NORMAL_TEMPORARY_FAILURE": 503,
}  # fmt: skip
"""The SIP final response a switch sends for each simulated hangup cause."""


def detail(row: Row) -> Row:
    """`GET /accounts/{id}/cdrs/{uuid}`: the list row plus the single-call fields (SIP response
    code, who hung up, trunk name, caller id), as the API page shows them."""
    out = public(row)
    cause = str(row.get("hangup_cause", ""))
    answered = str(row.get("status")) == "answered"
    out.setdefault("sip_response_code", SIP_BY_CAUSE.get(cause, 500))
    out.setdefault(
        "hangup_initiator", "caller" if answered or cause == "ORIGINATOR_CANCEL" else "callee"
    )
    out.setdefault("trunk_name", f"Sim trunk {str(row.get('trunk_id', '')).rsplit('_', 1)[-1]}")
    out.setdefault("caller_id", row.get("from_number") or row.get("caller_id_number"))
    return out


def cdr_page(
    shape: str, rows: list[Row], *, page: int, per_page: int, total: int, account: str | None
) -> dict[str, object]:
    """A CDR list body: `{data, meta}` for shape A, `{success, count, data, pagination}` for B."""
    if shape == "a":
        return {"data": rows, "meta": {"total": total, "page": page, "per_page": per_page}}
    pages = max(1, math.ceil(total / per_page))
    body: dict[str, object] = {"success": True}
    if account is not None:
        body["account_auth_id"] = account
    body.update(
        count=len(rows),
        data=rows,
        pagination={
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "has_next": page < pages,
            "has_prev": page > 1,
        },
    )
    return body


def accounts(items: Sequence[Customer], params: Mapping[str, str]) -> dict[str, object]:
    """`GET /accounts`: `{accounts, total, page, size}` with optional `search`."""
    page, per_page = paging(params)
    needle = params.get("search", "").lower()
    chosen = [a for a in items if needle in a.auth_id.lower() or needle in a.name.lower()]
    window = chosen[(page - 1) * per_page : page * per_page]
    return {
        "accounts": [a.to_api() for a in window],
        "total": len(chosen),
        "page": page,
        "size": per_page,
    }


def me(options: SimOptions) -> dict[str, object]:
    """`GET /me`: the partner profile."""
    return {
        "auth_id": options.auth_id,
        "name": "Simulated Partner",
        "status": "active",
        "can_view_cdrs": True,
    }
