"""Wire rows of both shapes → CDR or Rejected (detector.source.normalize)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.domain.cdr import CDR, Direction, Rejected, Status
from detector.source.normalize import normalize, to_e164

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    """A fixture row as a fresh dict the test may change."""
    row: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return row


def ok(row: object, **kwargs: Any) -> CDR:
    """Normalise a row that must be accepted."""
    result = normalize(row, **kwargs)
    assert isinstance(result, CDR), result
    return result


def at(text: str) -> datetime:
    """A UTC datetime from ISO text, for expectations."""
    return datetime.fromisoformat(text).astimezone(UTC)


def test_shape_a_full_row() -> None:
    """The seed page's full-detail row becomes exactly the expected CDR."""
    assert ok(load("shape_a_row.json")) == CDR(
        call_id="abc123-def456-ghi789",
        account="MA_48149cf4",
        direction=Direction.OUTBOUND,
        status=Status.ANSWERED,
        start=at("2026-03-25T10:30:00Z"),
        answer=at("2026-03-25T10:30:08Z"),
        end=at("2026-03-25T10:33:05Z"),
        talk_s=185.0,
        ring_s=8.0,
        from_number="+919876543210",
        to_number="+911234567890",
        hangup_cause="NORMAL_CLEARING",
        cost=1.39,
        currency="INR",
        trunk="trunk_abc",
        context="sip-trunking",
        dest_country="IN",
        dest_type="FIXED_LINE",
        sip_code=200,
    )


def test_shape_b_full_row() -> None:
    """A 43-field shape-B row becomes exactly the expected CDR, times converted to UTC."""
    assert ok(load("shape_b_row.json")) == CDR(
        call_id="5b0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d",
        account="MA_48149cf4",
        direction=Direction.OUTBOUND,
        status=Status.NO_ANSWER,
        start=at("2026-03-25T10:30:00Z"),
        answer=None,
        end=at("2026-03-25T10:30:32Z"),
        talk_s=0.0,
        ring_s=32.0,
        from_number="+919876543210",
        to_number="+447400123456",
        hangup_cause="NO_ANSWER",
        hangup_code=3000,
        cost=0.02,
        currency="INR",
        trunk="trunk_xyz",
        context="sip-trunking",
        dest_country="GB",
        dest_type="MOBILE",
        user_agent="Zoiper rv2.10",
    )


def test_seed_list_row_derives_ring_from_answer_time() -> None:
    """Without a ring field, an answered call rings from start to answer."""
    row = load("shape_a_row.json")
    del row["ring_duration_seconds"]
    assert ok(row).ring_s == 8.0


def test_unanswered_call_rings_until_end() -> None:
    """Without a ring field, an unanswered call rings from start to end."""
    row = load("shape_b_row.json")
    del row["ring_time"]
    assert ok(row).ring_s == 32.0


def test_shape_b_talk_from_duration_minus_ring() -> None:
    """Shape B without billsec takes talk = duration − ring_time."""
    row = load("shape_b_row.json")
    row.update(status="answered", duration=100, ring_time=10, answer_time=None)
    row["end_time"] = "2026-03-25T16:01:40+05:30"
    del row["billsec"]
    cdr = ok(row)
    assert (cdr.talk_s, cdr.ring_s) == (90.0, 10.0)


def test_answered_without_talk_field_uses_answer_to_end() -> None:
    """An answered row with no talk field talks from answer to end."""
    row = load("shape_a_row.json")
    del row["duration_seconds"]
    assert ok(row).talk_s == 177.0


@pytest.mark.parametrize(
    ("field", "expected"),
    [("account_auth_id", "MA_48149cf4"), ("account_id", "4815"), (None, "MA_given")],
)
def test_account_precedence(field: str | None, expected: str) -> None:
    """account_auth_id wins over account_id, which wins over the endpoint's account."""
    row = load("shape_b_row.json")
    if field != "account_auth_id":
        del row["account_auth_id"]
    if field is None:
        del row["account_id"]
    assert ok(row, account="MA_given").account == expected


@pytest.mark.parametrize(
    ("spelling", "status"),
    [
        ("answered", Status.ANSWERED),
        ("no-answer", Status.NO_ANSWER),
        ("no_answer", Status.NO_ANSWER),
        ("NO-ANSWER", Status.NO_ANSWER),
        (" No_Answer ", Status.NO_ANSWER),
        ("busy", Status.BUSY),
        ("FAILED", Status.FAILED),
        ("cancelled", Status.CANCELLED),
        ("canceled", Status.CANCELLED),
    ],
)
def test_status_spellings(spelling: str, status: Status) -> None:
    """Both wire spellings, any case, map onto one Status."""
    row = load("shape_a_row.json")
    row.update(status=spelling, answer_time=None)
    assert ok(row).status is status


@pytest.mark.parametrize("spelling", ["inbound", "INBOUND", "Inbound "])
def test_direction_any_case(spelling: str) -> None:
    """Direction is matched case-insensitively in either field name."""
    row = load("shape_b_row.json")
    row["call_direction"] = spelling
    assert ok(row).direction is Direction.INBOUND


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-03-25T10:30:00Z", "2026-03-25T10:30:00+00:00"),
        ("2026-03-25T16:00:00+05:30", "2026-03-25T10:30:00+00:00"),
        ("2026-03-25T05:30:00-05:00", "2026-03-25T10:30:00+00:00"),
        ("2026-03-25T10:30:00", "2026-03-25T10:30:00+00:00"),
        ("2026-03-25 10:30:00.250Z", "2026-03-25T10:30:00.250000+00:00"),
    ],
)
def test_times_become_aware_utc(start: str, expected: str) -> None:
    """Z, offsets and naive times (read as UTC) all become UTC-aware datetimes."""
    row = load("shape_a_row.json")
    row.update(start_time=start, answer_time=None)
    cdr = ok(row)
    assert cdr.start.tzinfo is UTC
    assert cdr.start.isoformat() == expected


def drop(field: str) -> dict[str, Any]:
    """Shape A row without `field`."""
    row = load("shape_a_row.json")
    del row[field]
    return row


def with_(**changes: Any) -> dict[str, Any]:
    """Shape A row with `changes` applied."""
    row = load("shape_a_row.json")
    row.update(changes)
    return row


BAD_ROWS: list[tuple[str, object, str]] = [
    ("no id", drop("call_uuid"), "missing_field"),
    ("id not text", with_(call_uuid=["x"]), "missing_field"),
    ("no account", drop("account_auth_id"), "missing_field"),
    ("no start", drop("start_time"), "missing_field"),
    ("no end", drop("end_time"), "missing_field"),
    (
        "no from",
        {k: v for k, v in drop("from_number").items() if k != "caller_id"},
        "missing_field",
    ),
    ("blank to", with_(to_number="  "), "missing_field"),
    ("no to", drop("to_number"), "missing_field"),
    ("unparsable start", with_(start_time="yesterday"), "bad_time"),
    ("epoch time", with_(end_time=1774434785), "bad_time"),
    ("end before start", with_(end_time="2026-03-25T10:29:59Z"), "bad_time"),
    ("answer after end", with_(answer_time="2026-03-25T10:40:00Z"), "bad_time"),
    ("number is a dict", with_(to_number={"e164": "+91"}), "bad_number"),
    ("number too long", with_(to_number="9" * 65), "bad_number"),
    ("no status", drop("status"), "bad_status"),
    ("unknown status", with_(status="ringing"), "bad_status"),
    ("status not text", with_(status=1), "bad_status"),
    ("no direction", drop("direction"), "bad_direction"),
    ("unknown direction", with_(direction="sideways"), "bad_direction"),
    ("negative talk", with_(duration_seconds=-1), "bad_number_value"),
    ("negative ring", with_(ring_duration_seconds=-0.5), "bad_number_value"),
    ("talk not numeric", with_(duration_seconds="long"), "bad_number_value"),
    ("talk is NaN", with_(duration_seconds=float("nan")), "bad_number_value"),
    ("talk is a bool", with_(duration_seconds=True), "bad_number_value"),
    ("cost not numeric", with_(cost="1,39"), "bad_number_value"),
    ("sip code fractional", with_(sip_response_code=200.5), "bad_number_value"),
    ("number is a huge int", with_(to_number=10**5000), "bad_number"),
    ("cost is a huge int", with_(cost=10**400), "bad_number_value"),
    ("start before year 1 in UTC", with_(start_time="0001-01-01T00:00:00+01:00"), "bad_time"),
    ("year 9999", with_(end_time="9999-12-31T23:59:59Z"), "time_out_of_range"),
    ("before 2000", with_(start_time="1999-12-31T23:59:59Z"), "time_out_of_range"),
    ("huge call id", with_(call_uuid="x" * 100_000), "field_too_long"),
    ("huge account id", with_(account_auth_id="MA_" + "1" * 200), "field_too_long"),
    ("huge hangup cause", with_(hangup_cause="X" * 10_000), "field_too_long"),
    ("talk of 10^12 s", with_(duration_seconds=10**12), "value_out_of_range"),
    ("ring over a week", with_(ring_duration_seconds=8 * 86400), "value_out_of_range"),
    ("absurd cost", with_(cost=-1e12), "value_out_of_range"),
    ("negative sip code", with_(sip_response_code=-1), "value_out_of_range"),
    ("mos above 5", with_(mos=7.5), "value_out_of_range"),
    ("a list", [load("shape_a_row.json")], "not_an_object"),
    ("a string", "call_uuid=1", "not_an_object"),
    ("null", None, "not_an_object"),
]


@pytest.mark.parametrize(
    ("row", "reason"), [(r, why) for _, r, why in BAD_ROWS], ids=[c[0] for c in BAD_ROWS]
)
def test_bad_rows_are_rejected_with_their_reason(row: object, reason: str) -> None:
    """Each kind of defect gives its own reason from the fixed vocabulary."""
    result = normalize(row)
    assert isinstance(result, Rejected)
    assert result.reason == reason, result.detail


def test_rejection_names_field_and_call() -> None:
    """A rejection's detail names the field and carries the call id when known."""
    result = normalize(drop("end_time"))
    assert isinstance(result, Rejected)
    assert "end_time" in result.detail
    assert result.call_id == "abc123-def456-ghi789"


def test_numeric_strings_are_accepted() -> None:
    """Numbers given as text (CSV, loose JSON) are read as numbers."""
    cdr = ok(with_(duration_seconds="185", cost="1.39", sip_response_code="200"))
    assert (cdr.talk_s, cdr.cost, cdr.sip_code) == (185.0, 1.39, 200)


def test_unknown_fields_are_ignored() -> None:
    """Extra fields neither reject a row nor change it."""
    assert ok(with_(surprise={"nested": [1, 2]})) == ok(load("shape_a_row.json"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+919876543210", "+919876543210"),
        ("919876543210", "+919876543210"),
        ("9876543210", "+919876543210"),
        ("09876543210", "+919876543210"),
        ("1800123456", "+911800123456"),
        ("0044 20 7946 0000", "+442079460000"),
        ("+1 (415) 555-0123", "+14155550123"),
        ("12345", "12345"),
        ("anonymous", "anonymous"),
    ],
)
def test_to_e164(raw: str, expected: str) -> None:
    """Bare digits with a country code or an Indian national number become E.164; others stay."""
    assert to_e164(raw) == expected


def test_integer_numbers_are_read_as_digits() -> None:
    """A phone number sent as a JSON integer is treated like its digits."""
    assert ok(with_(to_number=919876543210)).to_number == "+919876543210"


def test_destination_enrichment() -> None:
    """dest_country and dest_type come from the destination number."""
    cdr = ok(with_(to_number="+449098790000"))
    assert (cdr.dest_country, cdr.dest_type) == ("GB", "PREMIUM_RATE")


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", " ", "answered", "no-answer", "inbound", "2026-03-25T10:30:00Z"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELD_NAMES = st.sampled_from(
    sorted({*load("shape_a_row.json"), *load("shape_b_row.json")})
) | st.text(max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=25))
def test_normalize_never_raises_on_arbitrary_dicts(row: dict[str, object]) -> None:
    """Any JSON-like dict gives a CDR or a Rejected with a known reason, never an exception."""
    result = normalize(row)
    assert isinstance(result, CDR | Rejected)
    if isinstance(result, Rejected):
        assert result.reason in REASONS


def mutated(name: str) -> st.SearchStrategy[dict[str, object]]:
    """A fixture row with any subset of its fields replaced by arbitrary JSON values."""
    base = load(name)
    changes = st.fixed_dictionaries({}, optional=dict.fromkeys(base, JSON_VALUES))
    return changes.map(lambda change: {**base, **change})


@settings(max_examples=300, deadline=None)
@given(mutated("shape_a_row.json") | mutated("shape_b_row.json"))
def test_normalize_never_raises_on_mutated_real_rows(row: dict[str, object]) -> None:
    """Real rows with any fields replaced by junk still give a CDR or a Rejected."""
    result = normalize(row)
    assert isinstance(result, CDR | Rejected)
    if isinstance(result, CDR):
        assert result.start <= result.end
        assert result.talk_s >= 0
        assert result.ring_s >= 0


REASONS = {
    "missing_field",
    "bad_time",
    "bad_number",
    "bad_status",
    "bad_direction",
    "bad_number_value",
    "not_an_object",
    "time_out_of_range",
    "field_too_long",
    "value_out_of_range",
}


def general(row: dict[str, object], **kwargs: Any) -> CDR | Rejected:
    """`normalize` through its general path: a mapping that is not a dict skips the fast one."""
    return normalize(MappingProxyType(row), **kwargs)


TIME_SPELLINGS = st.sampled_from(
    [
        "2026-03-25T10:30:00Z",
        "2026-03-25T10:30:00+00:00",
        "2026-03-25T16:00:00+05:30",
        "2026-03-25T10:30:00",
        "2026-03-25T10:30:00.250Z",
        " 2026-03-25T10:30:00Z",
        "2026-02-30T10:30:00Z",
        "2026-03-25",
    ]
)
"""Time texts for the fast path to take, or leave to the general path."""


@settings(max_examples=400, deadline=None)
@given(
    mutated("shape_a_row.json") | mutated("shape_b_row.json"),
    st.sampled_from(["start_time", "answer_time", "end_time"]),
    TIME_SPELLINGS,
    st.none() | st.just("MA_given"),
)
def test_fast_path_equals_general_path_on_mutated_rows(
    row: dict[str, object], field: str, spelling: str, account: str | None
) -> None:
    """A dict row gives exactly what the general path gives: same CDR or same rejection."""
    row = {**row, field: spelling}
    assert repr(normalize(row, account=account)) == repr(general(row, account=account))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=25))
def test_fast_path_equals_general_path_on_arbitrary_dicts(row: dict[str, object]) -> None:
    """Arbitrary JSON-like dicts get the same result from the fast and the general path."""
    assert repr(normalize(row)) == repr(general(row))
