"""Per-account tailing, for feeds whose rows carry no account id.

The global `/cdrs` feed is the cheap path: one list for every customer. When its rows lack
`account_auth_id`/`account_id`, there are two ways to attribute them:

- `trunk_normalizer(mapping)`: a configured trunk → account map (`poll.trunk_accounts`) fills
  the account from the row's `trunk_id`; rows on unmapped trunks are rejected as
  `missing_field`, counted, never guessed.
- `PerAccountPoller`: lists customers (`GET /accounts`, refreshed every `refresh_every` cycles)
  and tails each `/accounts/{id}/cdrs` with its own `Poller` and cursor. Exactly-once carries
  over per account (each sub-poller keeps its guarantee; the seen ids are shared). It costs at
  least one request per account per cycle, so use it only when the global feed cannot work.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from detector.domain import CDR, Rejected
from detector.source.client import CdrApi
from detector.source.poller import Poller
from detector.source.rows import Normalize, PollResult
from detector.source.settings import PollerConfig

Seen = Callable[[Collection[str]], set[str]]


def trunk_normalizer(normalize: Normalize, trunks: Mapping[str, str]) -> Normalize:
    """Wrap `normalize` so rows without an account take it from their trunk."""

    def with_trunk(row: object, *, account: str | None = None) -> CDR | Rejected:
        if account is None and isinstance(row, Mapping):
            account = trunks.get(str(row.get("trunk_id", "")))
        return normalize(row, account=account)

    return with_trunk


class PerAccountPoller:
    """Tails every customer's own CDR list; one composite cursor for all of them."""

    def __init__(
        self,
        api: CdrApi,
        normalize: Normalize,
        config: PollerConfig,
        clock: Callable[[], datetime],
        *,
        refresh_every: int = 60,
    ) -> None:
        self.api, self.normalize, self.config, self.clock = api, normalize, config, clock
        self.refresh_every = refresh_every

    def accounts(self) -> list[str]:
        """Every customer's auth id, paging through `GET /accounts`."""
        return sorted({str(r["auth_id"]) for r in all_accounts(self.api) if r.get("auth_id")})

    def poll(self, cursor: dict[str, Any] | None, seen: Seen) -> PollResult:
        """One cycle over every account; all of it commits together or not at all."""
        state = dict(cursor or {})
        cycles = int(state.get("cycles", 0))
        accounts = list(state.get("accounts") or [])
        if not accounts or cycles % self.refresh_every == 0:
            accounts = self.accounts()
        subs: dict[str, Any] = dict(state.get("by_account") or {})
        merged = PollResult([], [], {}, [])
        for account in accounts:
            config = replace(self.config, account=account)
            poller = Poller(self.api, self.normalize, config, self.clock)
            result = poller.poll(subs.get(account), seen)
            merged.merge(result)
            subs[account] = result.cursor
        merged.cursor = {
            "mode": "per_account", "accounts": accounts, "by_account": subs, "cycles": cycles + 1,
        }  # fmt: skip
        return merged


def all_accounts(api: CdrApi, per_page: int = 100) -> list[dict[str, Any]]:
    """Every customer account `GET /accounts` lists, page after page."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        rows = api.list_accounts(page=page, per_page=per_page)
        found.extend(rows)
        if len(rows) < per_page:
            return found
        page += 1


def account_timezones(api: CdrApi, default: str) -> dict[str, str]:
    """Auth id → timezone of every account whose `timezone` is set and is not `default`
    (the rule set's `timezones` map; accounts in the default zone need no entry)."""
    zones: dict[str, str] = {}
    for row in all_accounts(api):
        account, zone = row.get("auth_id"), row.get("timezone")
        if account and isinstance(zone, str) and zone and zone != default:
            zones[str(account)] = zone
    return dict(sorted(zones.items()))
