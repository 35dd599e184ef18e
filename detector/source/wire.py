"""Wire field names of the two Vobiz response shapes, per CDR attribute, in lookup order.

Shape A is the seed page and the SDK's `PartnerCdr` (`call_uuid`, `from_number`,
`duration_seconds` = talk); shape B is the current OpenAPI row (`uuid`, `caller_id_number`,
`duration` = ring + talk, `billsec` = talk). Each tuple lists the names that carry one
attribute; `normalize` takes the first one present and non-empty, so a row may mix shapes.
Sources: the project's Vobiz API notes (VOBIZ_API_NOTES.md).
"""

from __future__ import annotations

CALL_ID = ("call_uuid", "uuid")
ACCOUNT = ("account_auth_id", "account_id")
FROM_NUMBER = ("from_number", "caller_id_number", "caller_id")
TO_NUMBER = ("to_number", "destination_number")
DIRECTION = ("direction", "call_direction")
STATUS = ("status",)
START = ("start_time",)
ANSWER = ("answer_time",)
END = ("end_time",)
TALK = ("duration_seconds", "billsec")
RING = ("ring_duration_seconds", "ring_time")
TOTAL = ("duration",)  # shape B only: ring + talk
HANGUP_CAUSE = ("hangup_cause", "hangup_cause_name")
HANGUP_CODE = ("hangup_cause_code",)
COST = ("cost", "total_cost")
CURRENCY = ("currency",)
TRUNK = ("trunk_id",)
CONTEXT = ("context",)
SIP_CODE = ("sip_response_code",)
MOS = ("mos",)
USER_AGENT = ("sip_user_agent",)

INTEGER_FIELDS = frozenset({"hangup_cause_code", "sip_response_code"})
"""Fields a text source (CSV) should turn into ints."""

FLOAT_FIELDS = frozenset(
    {
        "duration_seconds",
        "billsec",
        "ring_duration_seconds",
        "ring_time",
        "duration",
        "cost",
        "total_cost",
        "mos",
        "jitter",
        "packet_loss",
    }
)
"""Fields a text source (CSV) should turn into floats. Phone numbers are never coerced."""
