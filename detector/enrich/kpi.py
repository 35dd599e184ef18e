"""Telecom KPIs over CDRs: one definition shared by the Prometheus metrics and the reports.

The daemon's KPI counters (`detector.metrics`), the shipped recording rules
(`deploy/prometheus/alerts.yml`) and `cdr-detector report kpis` all compute the same numbers
from the same tallies, so a dashboard and a report over the same calls agree:

==================  ==============================================  =========================
KPI                 definition                                      tally fields
==================  ==============================================  =========================
attempts            every CDR (a seizure), answered or not          ``attempts``
ASR                 answered / attempts                             ``answered``, ``attempts``
ACD (ALOC)          talk seconds / answered calls                   ``talk_s``, ``answered``
NER                 (answered + user-side outcomes) / attempts      ``by_class``, ``attempts``
short-call share    answered calls under 6 s of talk / answered     ``short``, ``answered``
mean ring time      ring seconds / attempts                         ``ring_s``, ``attempts``
no-answer rate      status no-answer / attempts                     ``no_answer``, ``attempts``
spend               sum of ``cost``, per currency (never summed     ``spend``
                    across currencies)
==================  ==============================================  =========================

Cause classes (the label vocabulary of the failure counters)::

    normal   answered and cleared normally
    user     the called party decided: busy, no answer, rejected, absent
    caller   the caller gave up before an answer (originator cancel)
    number   the dialled number is wrong: unallocated, invalid format, changed
    barred   policy refused the call: barred destination, credit, limits, spam block
    network  the route or the platform failed: congestion, temporary failure, timeouts
    unknown  no table knows the cause

NER follows ITU-T E.425: the network did its job when the call was answered or a person on
the far end decided its outcome (``normal`` + ``user``). A call's class comes from its status
first (answered, no-answer, busy and cancelled are unambiguous), then for failed calls from
the Q.850/FreeSWITCH cause text in either spelling (``UNALLOCATED_NUMBER`` or ``Unallocated
Number``), then from the partner API's numeric hangup code (the Plivo scheme), then from the
SIP response code. The classes and the tables behind them, with a meaning for every cause,
live in `detector.enrich.causes` (the reports print those meanings).

>>> from datetime import UTC, datetime
>>> from detector.domain import CDR, Direction, Status
>>> t = datetime(2026, 3, 1, tzinfo=UTC)
>>> def call(status, talk=0.0, cause="", cost=0.0):
...     return CDR("c", "MA_1", Direction.OUTBOUND, status, t, None, t, talk, 5.0, "+1", "+2",
...                hangup_cause=cause, cost=cost, currency="INR")
>>> tally = Tally()
>>> for cdr in (call(Status.ANSWERED, 120.0, cost=1.5), call(Status.ANSWERED, 3.0, cost=0.1),
...             call(Status.BUSY), call(Status.FAILED, cause="SWITCH_CONGESTION")):
...     _ = tally.add(cdr)
>>> k = tally.kpis()
>>> (k.attempts, k.asr, k.acd_s, k.ner, k.short_share, k.mean_ring_s)
(4, 0.5, 61.5, 0.75, 0.5, 5.0)
>>> k.spend
{'INR': 1.6}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.domain import CDR, Status
from detector.enrich.causes import CauseClass, cause_class

__all__ = ["FAILURE_CLASSES", "SHORT_CALL_S", "UNKNOWN_CURRENCY", "CauseClass", "Kpis", "Tally",
           "cause_class", "is_short"]  # fmt: skip

SHORT_CALL_S = 6.0
"""Answered calls with less talk than this are short calls (the industry convention)."""


UNKNOWN_CURRENCY = "unknown"
"""The currency key of a cost whose CDR names no currency."""


FAILURE_CLASSES = tuple(c for c in CauseClass if c is not CauseClass.NORMAL)
"""Classes of unanswered calls, in a stable order (metric label values)."""


def is_short(cdr: CDR) -> bool:
    """An answered call with less than `SHORT_CALL_S` of talk."""
    return cdr.status is Status.ANSWERED and cdr.talk_s < SHORT_CALL_S


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class Kpis:
    """The KPIs of one tally; a ratio is None when its denominator is zero."""

    attempts: int
    answered: int
    asr: float | None
    acd_s: float | None
    ner: float | None
    short_share: float | None
    mean_ring_s: float | None
    spend: dict[str, float]
    no_answer_rate: float | None = None


@dataclass(slots=True)
class Tally:
    """Running sums over calls, from which every KPI is computed; mergeable (`merge`)."""

    attempts: int = 0
    answered: int = 0
    talk_s: float = 0.0
    ring_s: float = 0.0
    short: int = 0
    spend: dict[str, float] = field(default_factory=dict)
    by_class: dict[CauseClass, int] = field(default_factory=dict)
    no_answer: int = 0

    def add(self, cdr: CDR) -> CauseClass:
        """Count one call; returns its cause class."""
        cls = cause_class(cdr)
        self.attempts += 1
        self.ring_s += cdr.ring_s
        self.by_class[cls] = self.by_class.get(cls, 0) + 1
        if cdr.status is Status.ANSWERED:
            self.answered += 1
            self.talk_s += cdr.talk_s
            self.short += cdr.talk_s < SHORT_CALL_S
        elif cdr.status is Status.NO_ANSWER:
            self.no_answer += 1
        if cdr.cost:
            currency = cdr.currency or UNKNOWN_CURRENCY
            self.spend[currency] = self.spend.get(currency, 0.0) + cdr.cost
        return cls

    def merge(self, other: Tally) -> None:
        """Add another tally's sums to this one."""
        self.attempts += other.attempts
        self.answered += other.answered
        self.talk_s += other.talk_s
        self.ring_s += other.ring_s
        self.short += other.short
        self.no_answer += other.no_answer
        for currency, cost in other.spend.items():
            self.spend[currency] = self.spend.get(currency, 0.0) + cost
        for cls, n in other.by_class.items():
            self.by_class[cls] = self.by_class.get(cls, 0) + n

    def reached(self) -> int:
        """Calls the network delivered: `normal` plus `user` outcomes (NER's numerator)."""
        return self.by_class.get(CauseClass.NORMAL, 0) + self.by_class.get(CauseClass.USER, 0)

    def kpis(self) -> Kpis:
        """Every KPI of this tally."""
        return Kpis(
            attempts=self.attempts,
            answered=self.answered,
            asr=_ratio(self.answered, self.attempts),
            acd_s=_ratio(self.talk_s, self.answered),
            ner=_ratio(self.reached(), self.attempts),
            short_share=_ratio(self.short, self.answered),
            mean_ring_s=_ratio(self.ring_s, self.attempts),
            spend={c: round(v, 6) for c, v in sorted(self.spend.items())},
            no_answer_rate=_ratio(self.no_answer, self.attempts),
        )
