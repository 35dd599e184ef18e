"""Telecom KPI definitions (detector.enrich.kpi): cause classes, tallies and the ratios."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detector.domain import CDR, Direction, Status
from detector.enrich.kpi import UNKNOWN_CURRENCY, CauseClass, Tally, cause_class, is_short

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def call(
    status: Status,
    *,
    talk: float = 0.0,
    ring: float = 0.0,
    cause: str = "",
    code: int | None = None,
    cost: float = 0.0,
    currency: str = "INR",
) -> CDR:
    """A CDR with just the fields the KPIs read."""
    return CDR(
        "c1", "MA_1", Direction.OUTBOUND, status, T0, None, T0, talk, ring, "+1", "+2",
        hangup_cause=cause, hangup_code=code, cost=cost, currency=currency,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cdr", "expected"),
    [
        (call(Status.ANSWERED, cause="NORMAL_CLEARING"), CauseClass.NORMAL),
        (call(Status.NO_ANSWER), CauseClass.USER),
        (call(Status.BUSY, cause="CALL_REJECTED"), CauseClass.USER),
        (call(Status.CANCELLED), CauseClass.CALLER),
        (call(Status.FAILED, cause="UNALLOCATED_NUMBER"), CauseClass.NUMBER),
        (call(Status.FAILED, cause="Invalid Number Format"), CauseClass.NUMBER),
        (call(Status.FAILED, cause="SWITCH_CONGESTION"), CauseClass.NETWORK),
        (call(Status.FAILED, cause="normal-temporary-failure"), CauseClass.NETWORK),
        (call(Status.FAILED, cause="OUTGOING_CALL_BARRED"), CauseClass.BARRED),
        (call(Status.FAILED, code=2040, cause="whatever"), CauseClass.BARRED),
        (call(Status.FAILED, code=3050, cause="SWITCH_CONGESTION"), CauseClass.NETWORK),
        (call(Status.FAILED, code=3050), CauseClass.NUMBER),
        (call(Status.FAILED, cause="SOMETHING_NEW"), CauseClass.UNKNOWN),
        (call(Status.FAILED), CauseClass.UNKNOWN),
    ],
)
def test_cause_class(cdr: CDR, expected: CauseClass) -> None:
    """Status decides first, then the cause text in any spelling, then the numeric hangup code."""
    assert cause_class(cdr) is expected


def test_short_calls_are_answered_calls_under_six_seconds() -> None:
    """Only answered calls with less than 6 s of talk are short; unanswered ones never are."""
    assert is_short(call(Status.ANSWERED, talk=5.9))
    assert not is_short(call(Status.ANSWERED, talk=6.0))
    assert not is_short(call(Status.NO_ANSWER, talk=0.0))


def test_kpis_of_a_mixed_set_of_calls() -> None:
    """ASR, ACD, NER, short share, ring time and spend per currency over a known mix."""
    tally = Tally()
    for cdr in (
        call(Status.ANSWERED, talk=300.0, ring=4.0, cost=2.0),
        call(Status.ANSWERED, talk=2.0, ring=6.0, cost=0.5, currency="USD"),
        call(Status.ANSWERED, talk=100.0, ring=2.0, cost=1.0),
        call(Status.NO_ANSWER, ring=30.0),
        call(Status.FAILED, cause="UNALLOCATED_NUMBER"),
        call(Status.FAILED, cause="SWITCH_CONGESTION", ring=8.0),
        call(Status.FAILED, cause="SWITCH_CONGESTION", cost=0.25, currency=""),
        call(Status.BUSY),
    ):
        tally.add(cdr)
    k = tally.kpis()
    assert (k.attempts, k.answered) == (8, 3)
    assert k.asr == 3 / 8
    assert k.acd_s == 134.0
    assert k.ner == 5 / 8
    assert k.short_share == 1 / 3
    assert k.mean_ring_s == 50.0 / 8
    assert k.spend == {"INR": 3.0, "USD": 0.5, UNKNOWN_CURRENCY: 0.25}
    assert tally.by_class == {
        CauseClass.NORMAL: 3, CauseClass.USER: 2, CauseClass.NUMBER: 1, CauseClass.NETWORK: 2,
    }  # fmt: skip


def test_an_empty_tally_has_no_ratios() -> None:
    """With no calls every ratio is None rather than a division by zero."""
    k = Tally().kpis()
    assert (k.attempts, k.asr, k.acd_s, k.ner, k.short_share, k.mean_ring_s) == (
        0, None, None, None, None, None,
    )  # fmt: skip
    assert k.spend == {}


STATUSES = st.sampled_from(list(Status))
CALLS = st.builds(
    lambda status, talk, ring, cause, cost: call(
        status, talk=talk, ring=ring, cause=cause, cost=cost
    ),
    STATUSES,
    st.integers(0, 4000).map(float),
    st.integers(0, 120).map(float),
    st.sampled_from(["", "SWITCH_CONGESTION", "UNALLOCATED_NUMBER", "OUTGOING_CALL_BARRED", "X"]),
    st.integers(0, 500).map(lambda c: c / 100),
)


@given(st.lists(CALLS, max_size=30), st.lists(CALLS, max_size=30))
def test_merging_two_tallies_equals_one_tally_of_all_calls(
    first: list[CDR], second: list[CDR]
) -> None:
    """Tallies are mergeable: merging per-part tallies gives the tally of the whole."""
    a, b, whole = Tally(), Tally(), Tally()
    for cdr in first:
        a.add(cdr)
        whole.add(cdr)
    for cdr in second:
        b.add(cdr)
        whole.add(cdr)
    a.merge(b)
    assert (a.attempts, a.answered, a.short, a.by_class) == (
        whole.attempts, whole.answered, whole.short, whole.by_class,
    )  # fmt: skip
    assert a.talk_s == pytest.approx(whole.talk_s)
    assert a.ring_s == pytest.approx(whole.ring_s)
    assert a.spend.keys() == whole.spend.keys()
    assert all(a.spend[c] == pytest.approx(whole.spend[c]) for c in a.spend)
    assert (
        a.reached()
        + sum(n for c, n in a.by_class.items() if c not in {CauseClass.NORMAL, CauseClass.USER})
        == a.attempts
    )


def test_no_answer_rate_counts_only_calls_that_rang_out() -> None:
    """No-answer rate is status no-answer over attempts; busy and failed calls are not in it."""
    tally = Tally()
    for cdr in (call(Status.NO_ANSWER), call(Status.BUSY), call(Status.ANSWERED, talk=30.0),
                call(Status.FAILED, cause="SWITCH_CONGESTION")):  # fmt: skip
        tally.add(cdr)
    assert tally.kpis().no_answer_rate == 0.25
    assert tally.no_answer == 1
