"""Match fields of one CDR: its own fields plus cheap derived ones, computed once per CDR.

`Facts` is built once per CDR and shared by every rule; predicates and group keys read its
attributes directly (see `FIELDS` for the names a rule may use). Derivations:

- `international`: destination country known and different from the rule set's home country;
- `premium` / `invalid`: the destination number type (set at normalisation);
- `short_call`: answered-or-not talk time under 6 s (the industry cut-off);
- `hour_of_week` / `hour` / `local_hour`: local time in the account's timezone (the rule set's
  `timezones` entry for it, else its `timezone`);
- `peer`: the other party (caller for inbound, callee for outbound);
- `to_block`: the callee without its last two digits (range scans share it);
- `from_invalid`: the caller id is not E.164-shaped; `self_call`: caller equals callee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from detector.domain import CDR
from detector.enrich.kpi import SHORT_CALL_S
from detector.windows.clock import LocalHours
from detector.windows.seasonal import hour_of_week

_E164 = re.compile(r"\+[1-9]\d{7,14}")

NUMERIC_FIELDS = frozenset({"talk_s", "ring_s", "cost", "hangup_code", "hour_of_week", "hour"})
"""Fields that hold numbers (usable with lt/le/gt/ge and as `sum` aggregates)."""

BOOL_FIELDS = frozenset(
    {"answered", "international", "premium", "invalid", "short_call", "from_invalid", "self_call"}
)
TEXT_FIELDS = frozenset(
    {
        "account", "direction", "status", "hangup_cause", "trunk", "context", "from", "to",
        "dest_country", "dest_type", "peer", "to_block", "pair",
    }
)  # fmt: skip
FIELDS = NUMERIC_FIELDS | BOOL_FIELDS | TEXT_FIELDS
"""Every name a rule may use in `match`, `group_by`, `field` or `aggregate`."""

GROUP_FIELDS = (
    "account",
    "direction",
    "trunk",
    "from",
    "to",
    "dest_country",
    "pair",
    "peer",
    "to_block",
)


@dataclass(frozen=True, slots=True)
class Locale:
    """Where the accounts live: home country (for `international`); local time is the clock's."""

    home_country: str = "IN"


class Facts:
    """The CDR as rules see it: attribute per field name in `FIELDS`, plus `cdr` and `t`.

    Fields few rules read (`pair`, `hour`, `hour_of_week`) are properties, derived on use.
    """

    __slots__ = (
        "account", "answered", "cdr", "clock", "context", "cost", "dest_country", "dest_type",
        "direction", "end", "from", "from_invalid", "hangup_cause", "hangup_code", "international",
        "invalid", "local_hour", "peer", "premium", "ring_s", "self_call", "short_call",
        "status", "t", "talk_s", "to", "to_block", "trunk",
    )  # fmt: skip

    def __init__(self, cdr: CDR, locale: Locale, clock: LocalHours) -> None:
        self.cdr = cdr
        self.t = int(cdr.start.timestamp())
        self.end = int(cdr.end.timestamp())
        """When the call ended (epoch s): the time kinds on the `end` clock bucket by, and the
        nowcast's now (read by several rules per CDR, so taken once)."""
        self.account = cdr.account
        self.direction = cdr.direction._value_  # `.value` is a slower descriptor
        self.status = cdr.status._value_
        self.answered = cdr.answered
        self.talk_s = cdr.talk_s
        self.ring_s = cdr.ring_s
        self.cost = cdr.cost
        self.hangup_cause = cdr.hangup_cause
        self.hangup_code = -1 if cdr.hangup_code is None else cdr.hangup_code
        self.trunk = cdr.trunk
        self.context = cdr.context
        frm, to = cdr.from_number, cdr.to_number
        setattr(self, "from", frm)  # `from` is a Python keyword
        self.to = to
        self.peer = frm if self.direction == "inbound" else to
        self.to_block = to[:-2]
        self.from_invalid = _E164.fullmatch(frm) is None
        self.self_call = frm == to
        self.dest_country = cdr.dest_country
        self.dest_type = cdr.dest_type
        self.international = bool(cdr.dest_country) and cdr.dest_country != locale.home_country
        self.premium = cdr.dest_type == "PREMIUM_RATE"
        self.invalid = cdr.dest_type == "INVALID"
        self.short_call = cdr.talk_s < SHORT_CALL_S
        self.local_hour = clock.local_hour(self.t)
        self.clock = clock

    @property
    def hour_of_week(self) -> int:
        """Local hour of the week (0 = Monday 00:00), derived on use (few rules read it)."""
        return hour_of_week(self.local_hour)

    @property
    def hour(self) -> int:
        """Local hour of the day, derived on use."""
        return self.local_hour % 24

    @property
    def pair(self) -> str:
        """Caller and callee as ``from>to``, built on use (only `pair` group keys read it)."""
        return f"{self.cdr.from_number}>{self.cdr.to_number}"
