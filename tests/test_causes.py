"""The hangup cause table (`detector.enrich.causes`): meanings and classes of every vocabulary."""

from __future__ import annotations

from datetime import UTC, datetime

from detector.domain import CDR, Direction, Status
from detector.enrich.causes import CauseClass, cause_class, code_meaning, sip_meaning, text_cause
from detector.simulate.calls import OUTCOMES

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def failed(cause: str = "", code: int | None = None, sip: int | None = None) -> CDR:
    """A failed call carrying the given causes."""
    return CDR(
        "c1", "MA_1", Direction.OUTBOUND, Status.FAILED, T0, None, T0, 0.0, 0.0, "+1", "+2",
        hangup_cause=cause, hangup_code=code, sip_code=sip,
    )  # fmt: skip


def test_the_simulators_cause_texts_and_codes_agree_on_their_class() -> None:
    """Each simulated outcome's text cause and Vobiz code are known and fall in one class."""
    for outcome in OUTCOMES:
        known = text_cause(outcome.cause)
        assert known is not None, outcome
        assert code_meaning(outcome.code)[1] is known.kind, outcome


def test_text_causes_are_found_in_either_spelling_or_by_q850_value() -> None:
    """`USER_BUSY`, `User Busy` and `17` are one cause with a meaning."""
    busy = text_cause("USER_BUSY")
    assert busy is not None
    assert busy.meaning == "the called party is busy"
    assert text_cause("User Busy") == busy
    assert text_cause("17") == busy
    assert text_cause("PIZZA") is None


def test_a_failed_call_falls_back_to_the_sip_code_when_nothing_else_is_known() -> None:
    """With no known text cause or Vobiz code, the SIP response code decides the class."""
    assert cause_class(failed(sip=404)) is CauseClass.NUMBER
    assert cause_class(failed(cause="SOMETHING_NEW", sip=503)) is CauseClass.NETWORK
    assert cause_class(failed(code=2040, sip=503)) is CauseClass.BARRED
    assert cause_class(failed(sip=299)) is CauseClass.UNKNOWN


def test_unlisted_codes_are_described_not_dropped() -> None:
    """An unknown Vobiz code and an unlisted SIP code still get a readable meaning."""
    assert code_meaning(1234) == ("unknown hangup code 1234", CauseClass.UNKNOWN)
    assert sip_meaning(580) == ("SIP 580 (server failure)", CauseClass.NETWORK)
    assert sip_meaning(486) == ("Busy Here", CauseClass.USER)


def test_a_failed_call_claiming_a_normal_end_is_unknown_not_normal() -> None:
    """Only answered calls are `normal`, whatever cause a failed call carries."""
    assert cause_class(failed(cause="NORMAL_CLEARING")) is CauseClass.UNKNOWN
    assert cause_class(failed(code=4000)) is CauseClass.UNKNOWN
    assert cause_class(failed(sip=200)) is CauseClass.UNKNOWN
