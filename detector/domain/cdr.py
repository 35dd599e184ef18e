"""The call detail record as the core sees it: one frozen value per call, both shapes folded in."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Direction(enum.StrEnum):
    """Who placed the call, seen from the customer account."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Status(enum.StrEnum):
    """Call outcome; one enum over both wire spellings (`no-answer` and `no_answer`)."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class CDR:
    """One call. Times are timezone-aware UTC; numbers are normalised to E.164 where possible.

    `dest_country` (ISO 3166 alpha-2, "" when unknown) and `dest_type` (phonenumbers type name
    such as "MOBILE", "PREMIUM_RATE"; "INVALID" for every invalid number) are derived once at
    normalisation.
    """

    call_id: str
    account: str
    direction: Direction
    status: Status
    start: datetime
    answer: datetime | None
    end: datetime
    talk_s: float
    ring_s: float
    from_number: str
    to_number: str
    hangup_cause: str = ""
    hangup_code: int | None = None
    cost: float = 0.0
    currency: str = ""
    trunk: str = ""
    context: str = ""
    dest_country: str = ""
    dest_type: str = ""
    sip_code: int | None = None
    mos: float | None = None
    user_agent: str = ""

    @property
    def answered(self) -> bool:
        """True when the call was answered."""
        return self.status is Status.ANSWERED


@dataclass(frozen=True, slots=True)
class Rejected:
    """A wire row that cannot be used, with a short machine reason and a human detail.

    `reason` is a bounded vocabulary (used as a metric label): missing_field, bad_time,
    bad_number, bad_status, bad_direction, bad_number_value, not_an_object.
    """

    reason: str
    detail: str
    call_id: str = ""
