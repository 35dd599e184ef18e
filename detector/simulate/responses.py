"""JSON bodies of the simulated API: CDR pages in shape A or B, accounts, partner profile."""

from __future__ import annotations

import math
from collections.abc import Mapping

from detector.simulate.filters import paging
from detector.simulate.options import SimOptions
from detector.simulate.profile import Account
from detector.simulate.wire import HIDDEN_FIELD, Row


def public(row: Row) -> Row:
    """The row as sent on the wire: without the simulator's `available_at`."""
    return {k: v for k, v in row.items() if k != HIDDEN_FIELD}


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


def accounts(items: list[Account], params: Mapping[str, str]) -> dict[str, object]:
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
