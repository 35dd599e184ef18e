"""Webhook events folded into a cycle, each call counted once whichever copy comes first.

A Hangup's CDR is processed in the cycle that drains it and its id is committed as *early*
(not as seen: the poller must still find the row, or its count-guided reads would stop
trusting their counts). When the poller's copy arrives, the cycle sees the id among the early
ones: the CDR is not processed again (`confirm`), its id moves to `seen`, the early entry goes.
A Hangup whose call the poller already returned (its id is in `seen`), a second Hangup for a
call processed early, and a second one within one drain are all dropped. Early ids that the
poller never confirms (a call the API does not list in the watched range) are purged with the
seen ids, by the same low-water rule, so nothing can be offered again after its id is gone.

The poller stays the source of truth: a lost or late webhook only means the call is seen when
the poller reads it, a duplicate is dropped, a forged one never got past the signature.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from detector.domain import CDR, Rejected
from detector.source.rows import Normalize, PollResult, raw_text
from detector.webhooks.events import Attempt, Hangup
from detector.webhooks.ingest import Received

Lookup = Callable[[Collection[str]], set[str]]


@dataclass
class Folded:
    """What one drain of the webhook queue adds to a cycle."""

    cdrs: list[CDR] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    early: list[tuple[str, datetime]] = field(default_factory=list)
    """Ids of `cdrs` (and their start) to commit as early, for the poller's copy to confirm."""
    attempts: list[Attempt] = field(default_factory=list)
    received: dict[str, float] = field(default_factory=dict)
    """Call id → when its Hangup arrived (receiver clock), for alert latency."""


def fold(
    events: list[Received],
    normalize: Normalize,
    seen: Lookup,
    early: Lookup,
    taken: Collection[str] = (),
) -> Folded:
    """The new CDRs, rejections and attempts in `events` (see the module doc for dedupe);
    `taken`: call ids the same cycle's poll returned (its copy is the one processed)."""
    out = Folded()
    items: dict[str, tuple[CDR | Rejected, float, Hangup]] = {}
    for received in events:
        event = received.event
        if isinstance(event, Attempt):
            out.attempts.append(event)
            continue
        item = normalize(event.row)
        key = item.call_id
        if not key and isinstance(item, Rejected):
            out.rejected.append(Rejected(item.reason, item.detail, "", raw_text(event.row)))
        elif key not in items:
            items[key] = (item, received.at, event)
    done = seen(list(items)) | early(list(items)) | (set(items) & set(taken))
    for key, (item, at, event) in items.items():
        if key in done:
            continue
        if isinstance(item, CDR):
            out.cdrs.append(item)
            out.early.append((key, item.start))
            out.received[key] = at
        else:
            out.rejected.append(Rejected(item.reason, item.detail, key, raw_text(event.row)))
    return out


def confirm(result: PollResult, early: Lookup) -> list[str]:
    """Drop from `result.cdrs` the CDRs a webhook delivered first; return their ids.

    Their ids stay in `result.new_ids`, so the poller's copy is committed as seen.
    """
    ids = early([cdr.call_id for cdr in result.cdrs])
    if ids:
        result.cdrs = [cdr for cdr in result.cdrs if cdr.call_id not in ids]
    return sorted(ids)
