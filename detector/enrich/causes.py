"""What a hangup cause, a Vobiz hangup code or a SIP response code means, and its class.

Three vocabularies describe how a call ended, and a CDR may carry any of them:
- text causes in FreeSWITCH's Q.850 spelling (`NORMAL_CLEARING`, `USER_BUSY`, ...); shape B
  rows spell them as titles (`Normal Clearing`), folded here to the same key;
- Vobiz's numeric `hangup_cause_code` (4000 normal, 3000 no answer, 2040 number barred, ...;
  the scheme Plivo uses, see the project's API notes);
- the SIP final response (`sip_response_code`: 200, 486, 503, ...).

Each entry has a one-line meaning for people and a `CauseClass` for KPIs and reports:

    normal   the call was answered and cleared normally
    user     the called party decided: busy, no answer, rejected, absent
    caller   the caller gave up before an answer (originator cancel)
    number   the dialled number is wrong: unallocated, invalid format, changed
    barred   policy refused the call: barred destination, credit, limits, spam block
    network  the route or the platform failed: congestion, temporary failure, timeouts
    unknown  no table knows the cause

NER (`detector.enrich.kpi`) counts `normal` and `user` as effective: the network delivered
the call and a person decided its outcome. Sources: ITU-T Q.850 cause values, FreeSWITCH's
hangup cause table, RFC 3261 §21 response codes, Vobiz/Plivo hangup codes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from detector.domain.cdr import CDR, Status


class CauseClass(enum.StrEnum):
    """Who or what ended a call (see the module doc); a bounded vocabulary for metric labels."""

    NORMAL = "normal"
    USER = "user"
    CALLER = "caller"
    NUMBER = "number"
    BARRED = "barred"
    NETWORK = "network"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Cause:
    """One known cause: its name, its Q.850 value (None when it has none), meaning and class."""

    name: str
    q850: int | None
    meaning: str
    kind: CauseClass


_N, _U, _C = CauseClass.NORMAL, CauseClass.USER, CauseClass.CALLER
_NUM, _B, _NET = CauseClass.NUMBER, CauseClass.BARRED, CauseClass.NETWORK

_TEXT: tuple[tuple[str, int | None, str, CauseClass], ...] = (
    ("UNALLOCATED_NUMBER", 1, "the number is not assigned to anyone", _NUM),
    ("NO_ROUTE_TRANSIT_NET", 2, "no route to the transit network", _NET),
    ("NO_ROUTE_DESTINATION", 3, "no route to the destination", _NET),
    ("CHANNEL_UNACCEPTABLE", 6, "the channel offered is unacceptable", _NET),
    ("NORMAL_CLEARING", 16, "the call ended normally", _N),
    ("USER_BUSY", 17, "the called party is busy", _U),
    ("NO_USER_RESPONSE", 18, "the called party's device did not respond", _U),
    ("NO_ANSWER", 19, "the phone rang but nobody answered", _U),
    ("SUBSCRIBER_ABSENT", 20, "the called mobile is switched off or out of coverage", _U),
    ("CALL_REJECTED", 21, "the called party rejected the call", _U),
    ("NUMBER_CHANGED", 22, "the number has changed", _NUM),
    ("REDIRECTION_TO_NEW_DESTINATION", 23, "redirected to a new destination", _NUM),
    ("EXCHANGE_ROUTING_ERROR", 25, "routing error in an exchange", _NET),
    ("DESTINATION_OUT_OF_ORDER", 27, "the destination's line or device is out of order", _NET),
    ("INVALID_NUMBER_FORMAT", 28, "the number is incomplete or malformed", _NUM),
    ("FACILITY_REJECTED", 29, "a requested facility was rejected", _B),
    ("NORMAL_UNSPECIFIED", 31, "ended normally, no more specific cause", _U),
    ("NORMAL_CIRCUIT_CONGESTION", 34, "no circuit available", _NET),
    ("NETWORK_OUT_OF_ORDER", 38, "the network is out of order", _NET),
    ("NORMAL_TEMPORARY_FAILURE", 41, "temporary failure in the network", _NET),
    ("SWITCH_CONGESTION", 42, "switching equipment congestion", _NET),
    ("ACCESS_INFO_DISCARDED", 43, "access information discarded", _NET),
    ("REQUESTED_CHAN_UNAVAIL", 44, "the requested channel is not available", _NET),
    ("FACILITY_NOT_SUBSCRIBED", 50, "the facility is not subscribed", _B),
    ("OUTGOING_CALL_BARRED", 52, "outgoing calls are barred", _B),
    ("INCOMING_CALL_BARRED", 54, "incoming calls are barred", _B),
    ("BEARERCAPABILITY_NOTAUTH", 57, "bearer capability not authorised", _B),
    ("BEARERCAPABILITY_NOTAVAIL", 58, "bearer capability not available", _NET),
    ("SERVICE_UNAVAILABLE", 63, "service or option not available", _NET),
    ("BEARERCAPABILITY_NOTIMPL", 65, "bearer capability not implemented", _NET),
    ("FACILITY_NOT_IMPLEMENTED", 69, "facility not implemented", _NET),
    ("SERVICE_NOT_IMPLEMENTED", 79, "service not implemented", _NET),
    ("INCOMPATIBLE_DESTINATION", 88, "the destination cannot take this kind of call", _NUM),
    ("MANDATORY_IE_MISSING", 96, "signalling error: a mandatory element is missing", _NET),
    ("RECOVERY_ON_TIMER_EXPIRE", 102, "a signalling timer expired", _NET),
    ("PROTOCOL_ERROR", 111, "signalling protocol error", _NET),
    ("INTERWORKING", 127, "interworking with another network failed", _NET),
    ("ORIGINATOR_CANCEL", None, "the caller hung up before an answer", _C),
    ("LOSE_RACE", None, "another leg of a forked call answered first", _U),
    ("USER_NOT_REGISTERED", None, "the SIP user is not registered", _NUM),
    ("MEDIA_TIMEOUT", None, "no media (RTP) arrived for too long", _NET),
    ("ALLOTTED_TIMEOUT", None, "the call reached its maximum duration", _N),
    ("PROGRESS_TIMEOUT", None, "no call progress before the timeout", _NET),
    ("GATEWAY_DOWN", None, "the gateway is down", _NET),
    # the rest of FreeSWITCH's cause table: rare, but a switch may send any of them
    ("NONE", None, "no cause was recorded", CauseClass.UNKNOWN),
    ("CALL_AWARDED_DELIVERED", 7, "the call was delivered on an established channel", _N),
    ("RESPONSE_TO_STATUS_ENQUIRY", 30, "a response to a status enquiry", _NET),
    ("PRE_EMPTED", 45, "the call was pre-empted", _NET),
    ("CHAN_NOT_IMPLEMENTED", 66, "the channel type is not implemented", _NET),
    ("INVALID_CALL_REFERENCE", 81, "signalling error: invalid call reference", _NET),
    ("INVALID_MSG_UNSPECIFIED", 95, "signalling error: invalid message", _NET),
    ("MESSAGE_TYPE_NONEXIST", 97, "signalling error: unknown message type", _NET),
    ("WRONG_MESSAGE", 98, "signalling error: message not valid in this call state", _NET),
    ("IE_NONEXIST", 99, "signalling error: unknown information element", _NET),
    ("INVALID_IE_CONTENTS", 100, "signalling error: invalid information element", _NET),
    ("WRONG_CALL_STATE", 101, "signalling error: message not valid in this call state", _NET),
    ("MANDATORY_IE_LENGTH_ERROR", 103, "signalling error: element of the wrong length", _NET),
    ("SUCCESS", None, "the call succeeded", _N),
    ("CRASH", None, "the switch crashed during the call", _NET),
    ("SYSTEM_SHUTDOWN", None, "the switch shut down during the call", _NET),
    ("MANAGER_REQUEST", None, "ended by an operator or API request", _N),
    ("BLIND_TRANSFER", None, "the call was transferred (blind)", _N),
    ("ATTENDED_TRANSFER", None, "the call was transferred (attended)", _N),
    ("USER_CHALLENGE", None, "the call was challenged for authentication", _B),
    ("PICKED_OFF", None, "another extension picked the call up", _N),
    ("INVALID_GATEWAY", None, "the gateway does not exist", _NET),
    ("INVALID_URL", None, "the destination address is invalid", _NUM),
    ("INVALID_PROFILE", None, "the SIP profile does not exist", _NET),
    ("NO_PICKUP", None, "nobody picked up", _U),
    ("SRTP_READ_ERROR", None, "encrypted media (SRTP) could not be read", _NET),
    ("BAD_IDENTITY_INFO", None, "the caller's identity header could not be used", _B),
    ("UNSUPPORTED_CERTIFICATE", None, "the caller's identity certificate is not supported", _B),
    ("INVALID_IDENTITY", None, "the caller's identity did not verify", _B),
    ("STALE_DATE", None, "the caller's identity header is too old", _B),
    ("REJECT_ALL", None, "rejected by policy", _B),
)

_CODES: dict[int, tuple[str, CauseClass]] = {
    4000: ("normal hangup", _N),
    1000: ("cancelled by the caller", _C),
    1010: ("out of credits", _B),
    1020: ("simultaneous-dial limit reached", _B),
    2000: ("invalid destination number", _NUM),
    2010: ("destination out of service", _NUM),
    2030: ("destination country barred", _B),
    2040: ("number barred (premium disabled)", _B),
    2050: ("prefix barred", _B),
    3000: ("no answer", _U),
    3010: ("busy", _U),
    3020: ("rejected by the called party", _U),
    3030: ("unknown caller id", _B),
    3040: ("forbidden", _B),
    3050: ("unallocated number", _NUM),
    3090: ("congestion", _NET),
    3130: ("spam block", _B),
    3140: ("do-not-originate caller id", _B),
    5030: ("concurrency limit breached", _B),
    6000: ("maximum call duration reached", _N),
    6010: ("ring timeout", _U),
    6020: ("media timeout", _NET),
}
"""Vobiz's numeric `hangup_cause_code` (same scheme as Plivo)."""

HANGUP_CODES = frozenset(_CODES)
"""The Vobiz codes this table knows (rule values on `hangup_code` are checked against them)."""

_SIP: dict[int, tuple[str, CauseClass]] = {
    200: ("OK: answered", _N),
    400: ("Bad Request", _NET),
    401: ("Unauthorized", _B),
    402: ("Payment Required", _B),
    403: ("Forbidden", _B),
    404: ("Not Found: no such number", _NUM),
    407: ("Proxy Authentication Required", _B),
    408: ("Request Timeout: no answer from the far end", _NET),
    410: ("Gone: the number no longer exists", _NUM),
    480: ("Temporarily Unavailable", _U),
    484: ("Address Incomplete", _NUM),
    486: ("Busy Here", _U),
    487: ("Request Terminated: cancelled", _C),
    488: ("Not Acceptable Here: no common codec", _NET),
    500: ("Server Internal Error", _NET),
    502: ("Bad Gateway", _NET),
    503: ("Service Unavailable", _NET),
    504: ("Server Time-out", _NET),
    600: ("Busy Everywhere", _U),
    603: ("Decline", _U),
    604: ("Does Not Exist Anywhere", _NUM),
    606: ("Not Acceptable", _NET),
}
"""SIP final responses (RFC 3261 §21); others are described by their class digit."""

_SIP_CLASS = {2: ("success", _N), 3: ("redirection", _NUM), 4: ("request failure", _U),
              5: ("server failure", _NET), 6: ("global failure", _U)}  # fmt: skip

CAUSES: dict[str, Cause] = {name: Cause(name, q, text, kind) for name, q, text, kind in _TEXT}
"""Text causes by their FreeSWITCH name."""

_BY_Q850 = {c.q850: c for c in CAUSES.values() if c.q850 is not None}

_STATUS_CLASS = {
    Status.ANSWERED: _N,
    Status.BUSY: _U,
    Status.NO_ANSWER: _U,
    Status.CANCELLED: _C,
}
"""The class a status settles by itself; a failed call is classed by its causes."""


def cause_key(text: str) -> str:
    """A text cause in FreeSWITCH's spelling: `Normal Clearing` → `NORMAL_CLEARING`.

    >>> cause_key("Normal Clearing"), cause_key(" no-answer ")
    ('NORMAL_CLEARING', 'NO_ANSWER')
    """
    return text.strip().upper().replace(" ", "_").replace("-", "_")


def text_cause(text: str) -> Cause | None:
    """The known cause of a text cause in either spelling, or a Q.850 value as text.

    >>> text_cause("User Busy").q850, text_cause("41").name, text_cause("PIZZA") is None
    (17, 'NORMAL_TEMPORARY_FAILURE', True)
    """
    key = cause_key(text)
    if key.isdigit():
        return _BY_Q850.get(int(key))
    return CAUSES.get(key)


def code_meaning(code: int) -> tuple[str, CauseClass]:
    """Meaning and class of a Vobiz numeric hangup code.

    >>> code_meaning(2040)
    ('number barred (premium disabled)', <CauseClass.BARRED: 'barred'>)
    >>> code_meaning(1234)[1]
    <CauseClass.UNKNOWN: 'unknown'>
    """
    return _CODES.get(code, (f"unknown hangup code {code}", CauseClass.UNKNOWN))


def sip_meaning(code: int) -> tuple[str, CauseClass]:
    """Meaning and class of a SIP response code; unlisted codes by their class digit.

    >>> sip_meaning(486)[0], sip_meaning(599)
    ('Busy Here', ('SIP 599 (server failure)', <CauseClass.NETWORK: 'network'>))
    """
    found = _SIP.get(code)
    if found is not None:
        return found
    text, kind = _SIP_CLASS.get(code // 100, ("not a SIP final response", CauseClass.UNKNOWN))
    return f"SIP {code} ({text})", kind


def cause_class(cdr: CDR) -> CauseClass:
    """Who or what ended `cdr`: its status when that settles it, else (a failed call) the
    first of its text cause, Vobiz code and SIP code that a table knows.

    `normal` means answered: a failed call whose cause claims a normal end (NORMAL_CLEARING,
    4000, SIP 200) contradicts itself and is `unknown`, so "answered + user" (what the
    metrics' NER adds up) and "normal + user" (the tally's) are the same calls.

    >>> from datetime import UTC, datetime
    >>> from detector.domain import Direction
    >>> t = datetime(2026, 3, 1, tzinfo=UTC)
    >>> failed = CDR("c", "MA_1", Direction.OUTBOUND, Status.FAILED, t, None, t, 0.0, 0.0,
    ...              "+1", "+2", hangup_cause="Unallocated Number")
    >>> cause_class(failed)
    <CauseClass.NUMBER: 'number'>
    """
    by_status = _STATUS_CLASS.get(cdr.status)
    if by_status is not None:
        return by_status
    found = _failed_class(cdr)
    return CauseClass.UNKNOWN if found is CauseClass.NORMAL else found


def _failed_class(cdr: CDR) -> CauseClass:
    known = CAUSES.get(cause_key(cdr.hangup_cause)) if cdr.hangup_cause else None
    if known is not None:
        return known.kind
    if cdr.hangup_code is not None and cdr.hangup_code in _CODES:
        return _CODES[cdr.hangup_code][1]
    if cdr.sip_code is not None and cdr.sip_code in _SIP:
        return _SIP[cdr.sip_code][1]
    return CauseClass.UNKNOWN
