"""The facts that decide, computed from the account's own calls around an alert.

Where the calls come from: when an alert first fires, the enrichment thread lists the
account's CDRs of the last 24 hours from the partner API (rate limited, never blocking
detection or delivery; see `alerting.enrichment`). This module is the pure part: from those
calls and the alert it computes a `Briefing`:

- the currency (the most common one among the calls; never assumed);
- the calls *involved*: the account's calls in the alert's window (for a resolved alert, from
  one window before it fired until it ended) in the rule's direction and answer state, when
  its `match` names them, with their count, minutes and spend, and their share of all the
  account's calls in that time;
- those calls grouped by destination country and number type (count, minutes, spend);
- the first and last of them and a few samples (numbers masked, call ids kept);
- the chart's series: the rule's measure (spend, talk minutes or calls) per 15 minutes over
  the 24 hours, and its usual band: the 10th to 90th percentile of the 15-minute buckets
  outside the alert's window (the same day's own normal, as the chart needs no history store).

A briefing can be made from part of the 24 hours (`whole_from`: the calls are complete only
from that time on, as when the first pages of a busy account have arrived): the series then
starts at the first whole 15 minutes after it, and says how many hours it covers (`hours`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from detector.alerting.wording import parse_utc
from detector.domain import CDR

Measure = Literal["spend", "minutes", "calls"]
BUCKET_S = 900
HOURS = 24
SAMPLES = 5
TOP_DESTINATIONS = 5


@dataclass(frozen=True, slots=True)
class Scope:
    """Which calls an alert is about: direction and answer state (None: any) and its measure."""

    direction: str | None = None
    answered: bool | None = None
    measure: Measure = "calls"

    def admits(self, cdr: CDR) -> bool:
        """True when `cdr` is the kind of call the rule looks at."""
        if self.direction is not None and cdr.direction.value != self.direction:
            return False
        return self.answered is None or cdr.answered == self.answered


@dataclass(frozen=True, slots=True)
class Destination:
    """The involved calls to one country and number type."""

    country: str
    kind: str
    calls: int
    minutes: float
    spend: float


@dataclass(frozen=True, slots=True)
class Sample:
    """One involved call as shown (number masked)."""

    call_id: str
    start: str
    to: str
    status: str
    talk_s: float
    cost: float


@dataclass(frozen=True, slots=True)
class Series:
    """The measure per `step_s` from `start` (UTC ISO), its usual band and the alert's span."""

    measure: str
    start: str
    step_s: int
    values: list[float]
    low: float
    high: float
    alert_from: str
    alert_to: str

    @property
    def hours(self) -> int:
        """How many hours the series covers, rounded (24 for a whole day)."""
        return max(1, round(len(self.values) * self.step_s / 3600))


@dataclass(frozen=True, slots=True)
class Briefing:
    """What the account's calls say about one alert (JSON-able; masked where shown)."""

    currency: str
    calls: int
    account_calls: int
    minutes: float
    spend: float
    account_spend: float
    first_call: str = ""
    last_call: str = ""
    destinations: list[Destination] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    series: Series | None = None
    usual: float | None = None
    """The measure's median over a span as long as the alert's window, from the 24 hours before
    it (None without enough of them): the norm of rules that have no baseline of their own."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (for the outbox)."""
        return asdict(self)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Briefing:
        """Inverse of `to_json`."""
        series = body.get("series")
        return cls(
            **{k: v for k, v in body.items() if k not in {"destinations", "samples", "series"}},
            destinations=[Destination(**d) for d in body.get("destinations", [])],
            samples=[Sample(**s) for s in body.get("samples", [])],
            series=Series(**series) if series else None,
        )


def span(alert: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    """The time the alert is about: its window before `at`, from one window before it fired
    when it has ended; None when the alert's times cannot be read."""
    at, starts = _time(alert.get("at")), _time(alert.get("starts_at"))
    window = float((alert.get("evidence") or {}).get("window_s") or alert.get("window_s") or 0)
    if at is None:
        return None
    width = timedelta(seconds=max(window, 60.0))
    begin = (starts or at) - width if alert.get("status") == "resolved" else at - width
    return begin, at


def brief(
    alert: Mapping[str, Any],
    cdrs: Iterable[CDR],
    scope: Scope,
    mask: Callable[[str], str],
    whole_from: datetime | None = None,
) -> Briefing | None:
    """The briefing for `alert` from the account's calls (None when its times are unreadable);
    `whole_from`: the calls are complete only from then on (module doc)."""
    found = span(alert)
    if found is None:
        return None
    begin, end = found
    every = [c for c in cdrs if c.start <= end]
    during = [c for c in every if begin <= c.start <= end]
    involved = sorted((c for c in during if scope.admits(c)), key=lambda c: c.start)
    shape = series(every, scope, begin, end, whole_from)
    currencies = Counter(c.currency for c in every if c.currency)
    return Briefing(
        currency=currencies.most_common(1)[0][0] if currencies else "",
        calls=len(involved),
        account_calls=len(during),
        minutes=round(sum(c.talk_s for c in involved) / 60, 2),
        spend=round(sum(c.cost for c in involved), 4),
        account_spend=round(sum(c.cost for c in during), 4),
        first_call=_iso(involved[0].start) if involved else "",
        last_call=_iso(involved[-1].start) if involved else "",
        destinations=destinations(involved),
        samples=[_sample(c, mask) for c in _spread(involved, SAMPLES)],
        series=shape,
        usual=usual(shape, alert),
    )


def destinations(calls: Iterable[CDR]) -> list[Destination]:
    """Calls grouped by destination country and number type, most calls (then spend) first."""
    groups: dict[tuple[str, str], list[CDR]] = {}
    for cdr in calls:
        groups.setdefault((cdr.dest_country, cdr.dest_type), []).append(cdr)
    rows = [
        Destination(
            country,
            kind,
            len(group),
            round(sum(c.talk_s for c in group) / 60, 2),
            round(sum(c.cost for c in group), 4),
        )
        for (country, kind), group in groups.items()
    ]
    rows.sort(key=lambda d: (-d.calls, -d.spend, d.country, d.kind))
    return rows[:TOP_DESTINATIONS]


def series(
    calls: list[CDR],
    scope: Scope,
    begin: datetime,
    end: datetime,
    whole_from: datetime | None = None,
) -> Series | None:
    """The measure per 15 minutes over the 24 hours up to `end` (or from the first whole
    15 minutes after `whole_from`, when later), with its usual band."""
    start = _floor(end - timedelta(hours=HOURS))
    if whole_from is not None and whole_from > start:
        start = _floor(whole_from + timedelta(seconds=BUCKET_S - 1))
    count = int((end - start).total_seconds() // BUCKET_S) + 1
    values = [0.0] * count
    for cdr in calls:
        index = int((cdr.start - start).total_seconds() // BUCKET_S)
        if 0 <= index < count and scope.admits(cdr):
            values[index] += _amount(cdr, scope.measure)
    first = int((begin - start).total_seconds() // BUCKET_S)
    usual = sorted(v for i, v in enumerate(values) if i < first)
    if not any(values):
        return None
    low, high = (_quantile(usual, 0.1), _quantile(usual, 0.9)) if usual else (0.0, 0.0)
    rounded = [round(v, 4) for v in values]
    return Series(scope.measure, _iso(start), BUCKET_S, rounded, round(low, 4), round(high, 4),
                  _iso(begin), _iso(end))  # fmt: skip


def usual(shape: Series | None, alert: Mapping[str, Any]) -> float | None:
    """The median 15-minute bucket before the alert, scaled to the alert's window."""
    window = float((alert.get("evidence") or {}).get("window_s") or 0)
    start, begin = (parse_utc(shape.start), parse_utc(shape.alert_from)) if shape else (None, None)
    if shape is None or start is None or begin is None or window <= 0:
        return None
    before = sorted(shape.values[: int((begin - start).total_seconds() // shape.step_s)])
    if len(before) < 8:
        return None
    return round(before[len(before) // 2] * window / shape.step_s, 4)


def _amount(cdr: CDR, measure: Measure) -> float:
    if measure == "spend":
        return cdr.cost
    if measure == "minutes":
        return cdr.talk_s / 60
    return 1.0


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _spread(calls: list[CDR], n: int) -> list[CDR]:
    """Up to `n` calls: the first, the last and evenly spaced ones between."""
    if len(calls) <= n:
        return calls
    step = (len(calls) - 1) / (n - 1)
    return [calls[round(i * step)] for i in range(n)]


def _sample(cdr: CDR, mask: Callable[[str], str]) -> Sample:
    return Sample(cdr.call_id, _iso(cdr.start), mask(cdr.to_number), cdr.status.value,
                  cdr.talk_s, cdr.cost)  # fmt: skip


def _floor(at: datetime) -> datetime:
    return at - timedelta(seconds=at.timestamp() % BUCKET_S)


def _time(value: object) -> datetime | None:
    return parse_utc(value) if isinstance(value, str) else None


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
