"""`cdr-detector report billing`: recompute every call's charge from a rate card, list the
calls billed differently, and total billed against expected per destination.

A call is a *mismatch* when |billed − expected| > tolerance (default: the card's `tolerance`,
else 0.01 of the currency: rounding to 2 or 4 decimals never trips it), when the card has no
rate for its destination, or when it was billed in another currency than the card's. Each
mismatch gets a likely reason: answered but free, billed twice, billed per second instead of
in pulses, an unanswered attempt billed like a call, or the rate the bill implies against the
card's. Totals are per destination (the card's rate name; per account too when the report
covers every account): calls, answered calls, billed minutes (after pulses), billed and
expected amounts and their difference.

With `--labels` (the simulator's `--mispriced-out` file) the report is scored: found, missed
and false mismatches, precision and recall, over the labelled calls the report read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from detector.domain import CDR, Status
from detector.errors import ConfigError, NoDataError
from detector.investigate.output import (
    FORMATS,
    iso,
    print_tables,
    table,
    write_csv,
    write_json,
)
from detector.investigate.ratecard import RateCard, load_card
from detector.investigate.reader import Days, Filters
from detector.investigate.session import Where, day_progress, session

DEFAULT_TOLERANCE = Decimal("0.01")
NO_RATE = "(no rate)"
_CENT = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One call billed differently from the card."""

    cdr: CDR
    destination: str
    billed: Decimal
    expected: Decimal | None
    reason: str

    @property
    def difference(self) -> Decimal | None:
        """Billed minus expected (None without a rate)."""
        return None if self.expected is None else self.billed - self.expected

    def to_json(self) -> dict[str, Any]:
        """The CSV / JSON row."""
        cdr = self.cdr
        return {
            "call_id": cdr.call_id, "account": cdr.account, "start": iso(cdr.start),
            "direction": cdr.direction.value, "status": cdr.status.value, "to": cdr.to_number,
            "destination": self.destination, "talk_s": cdr.talk_s, "billed": _out(self.billed),
            "expected": _out(self.expected), "difference": _out(self.difference),
            "currency": cdr.currency, "reason": self.reason,
        }  # fmt: skip


@dataclass(slots=True)
class Total:
    """Billed against expected for one destination (and account)."""

    calls: int = 0
    answered: int = 0
    billed_s: int = 0
    billed: Decimal = Decimal(0)
    expected: Decimal = Decimal(0)
    mismatches: int = 0


@dataclass(slots=True)
class Reconciliation:
    """The outcome: mismatched calls, totals by (account, destination), calls read."""

    card: RateCard
    tolerance: Decimal
    mismatches: list[Mismatch] = field(default_factory=list)
    totals: dict[tuple[str, str], Total] = field(default_factory=dict)
    call_ids: set[str] = field(default_factory=set)

    def add(self, cdr: CDR) -> None:
        """Rate one call and count it."""
        self.call_ids.add(cdr.call_id)
        answered = cdr.status is Status.ANSWERED
        rate, expected = self.card.charge(
            cdr.to_number, cdr.direction.value, cdr.talk_s, answered=answered
        )
        destination = rate.name if rate else NO_RATE
        billed = Decimal(str(cdr.cost))
        total = self.totals.setdefault((cdr.account, destination), Total())
        total.calls += 1
        total.answered += answered
        total.billed += billed
        if rate is not None and expected is not None:
            total.expected += expected
            total.billed_s += rate.pulse.billed_seconds(cdr.talk_s) if answered else 0
        reason = self._reason(cdr, billed, expected)
        if reason is not None:
            total.mismatches += 1
            self.mismatches.append(Mismatch(cdr, destination, billed, expected, reason))

    def _reason(self, cdr: CDR, billed: Decimal, expected: Decimal | None) -> str | None:
        if expected is None:
            return f"no rate in the card for {cdr.direction.value} calls to {cdr.to_number}"
        currency = cdr.currency.strip().upper()
        if currency and currency != self.card.currency and (billed or expected):
            return f"billed in {currency}, the card charges in {self.card.currency}"
        if abs(billed - expected) <= self.tolerance:
            return None
        return explain(self.card, cdr, billed, expected)


def explain(card: RateCard, cdr: CDR, billed: Decimal, expected: Decimal) -> str:
    """The likeliest reason a call's bill differs from the card's charge."""
    rate = card.rate_for(cdr.to_number, cdr.direction.value)
    if cdr.status is not Status.ANSWERED:
        return f"unanswered attempt billed {billed:f}, the card charges {expected:f}"
    if billed == 0:
        return "answered call billed nothing"
    if expected and abs(billed - 2 * expected) <= _CENT:
        return "billed twice"
    if rate is not None:
        per_second = rate.setup + rate.per_minute * Decimal(str(cdr.talk_s)) / 60
        if abs(billed - per_second) <= _CENT:
            return f"billed per second, the card bills in {rate.pulse} pulses"
        minutes = Decimal(rate.pulse.billed_seconds(cdr.talk_s)) / 60
        if minutes:
            implied = (billed - rate.setup) / minutes
            return f"billed at {implied:.4f}/min, the card says {rate.per_minute:f}/min"
    return f"billed {billed:f}, the card charges {expected:f}"


def reconcile(card: RateCard, cdrs: Iterable[CDR], tolerance: Decimal) -> Reconciliation:
    """Rate every call of `cdrs` against `card`."""
    result = Reconciliation(card, tolerance)
    for cdr in cdrs:
        result.add(cdr)
    return result


def score(result: Reconciliation, labels: list[dict[str, Any]]) -> dict[str, Any]:
    """Found, missed and false mismatches against labelled calls the report read."""
    truth = {str(x.get("call_id")) for x in labels} & result.call_ids
    flagged = {m.cdr.call_id for m in result.mismatches}
    found, missed, false = flagged & truth, truth - flagged, flagged - truth
    return {
        "labelled": len(truth), "found": len(found), "missed": len(missed), "false": len(false),
        "precision": len(found) / len(flagged) if flagged else None,
        "recall": len(found) / len(truth) if truth else None,
        "missed_calls": sorted(missed), "false_calls": sorted(false),
    }  # fmt: skip


def load_labels(path: Path) -> list[dict[str, Any]]:
    """The mispriced-calls JSONL of the simulator (`simulate --mispriced-out`)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except OSError as exc:
        raise ConfigError(f"--labels: cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"--labels: {path} is not JSON lines: {exc}") from exc


def billing_command(
    where: Where,
    *,
    account: str | None,
    period: str,
    rate_card: Path,
    tolerance: float | None,
    fmt: str,
    labels: Path | None,
    limit: int = 50,
) -> Reconciliation:
    """Reconcile `period` for `account` (or every account) and print the report."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    card = load_card(rate_card)
    days = Days.month(period)
    allowed = _tolerance(tolerance, card)
    with session(where) as current, day_progress(current, days, "billing"):
        cdrs = (c for found in current.reader.days(days, Filters(), account) for c in found.cdrs)
        result = reconcile(card, cdrs, allowed)
    if not result.call_ids:
        raise NoDataError(f"no calls for {account or 'any account'} in {period} ({days})")
    scores = score(result, load_labels(labels)) if labels is not None else None
    _print(result, fmt, scores, limit, per_account=account is None)
    return result


def _tolerance(given: float | None, card: RateCard) -> Decimal:
    if given is None:
        return card.tolerance if card.tolerance is not None else DEFAULT_TOLERANCE
    if given < 0:
        raise ConfigError(f"--tolerance must be 0 or more, got {given}")
    return Decimal(str(given))


def _print(
    result: Reconciliation,
    fmt: str,
    scores: dict[str, Any] | None,
    limit: int,
    *,
    per_account: bool,
) -> None:
    rows = [m.to_json() for m in result.mismatches]
    if fmt == "csv":
        write_csv(sys.stdout, list(rows[0]) if rows else ["call_id"], rows)
        return
    totals = [_total_json(key, total) for key, total in sorted(result.totals.items())]
    if fmt == "json":
        write_json(sys.stdout, {"mismatches": rows, "totals": totals, "score": scores,
                                "tolerance": _out(result.tolerance)})  # fmt: skip
        return
    print_tables(_tables(result, rows, totals, scores, limit, per_account))


def _tables(
    result: Reconciliation,
    rows: list[dict[str, Any]],
    totals: list[dict[str, Any]],
    scores: dict[str, Any] | None,
    limit: int,
    per_account: bool,
) -> list[Any]:
    shown = rows[:limit]
    more = f" (first {limit}; --format csv lists all)" if len(rows) > limit else ""
    columns = ("start", "call", "to", "talk s", "billed", "expected", "reason")
    out = [
        table(
            f"{len(rows)} of {len(result.call_ids):,} calls billed differently from the card "
            f"(tolerance {result.tolerance:f} {result.card.currency}){more}",
            ("account", *columns) if per_account else columns,
            [_mismatch_row(r, per_account) for r in shown],
        )
    ]
    head = ("destination", "calls", "answered", "billed min", "billed", "expected", "difference",
            "mismatches")  # fmt: skip
    out.append(
        table(
            "Totals per destination",
            ("account", *head) if per_account else head,
            [_total_row(t, per_account) for t in totals],
        )
    )
    if scores is not None:
        out.append(_score_table(scores))
    return out


def _mismatch_row(row: dict[str, Any], per_account: bool) -> tuple[str, ...]:
    expected = "-" if row["expected"] is None else str(row["expected"])
    cells = (row["start"], row["call_id"], row["to"], f"{row['talk_s']:g}", str(row["billed"]),
             expected, row["reason"])  # fmt: skip
    return (row["account"], *cells) if per_account else cells


def _total_json(key: tuple[str, str], total: Total) -> dict[str, Any]:
    return {
        "account": key[0], "destination": key[1], "calls": total.calls,
        "answered": total.answered, "billed_minutes": total.billed_s / 60,
        "billed": _out(total.billed), "expected": _out(total.expected),
        "difference": _out(total.billed - total.expected), "mismatches": total.mismatches,
    }  # fmt: skip


def _total_row(row: dict[str, Any], per_account: bool) -> tuple[str, ...]:
    cells = (row["destination"], f"{row['calls']:,}", f"{row['answered']:,}",
             f"{row['billed_minutes']:,.0f}", f"{row['billed']:,.2f}", f"{row['expected']:,.2f}",
             f"{row['difference']:+,.2f}", str(row["mismatches"]))  # fmt: skip
    return (row["account"], *cells) if per_account else cells


def _score_table(scores: dict[str, Any]) -> Any:
    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    row = (str(scores["labelled"]), str(scores["found"]), str(scores["missed"]),
           str(scores["false"]), share(scores["precision"]), share(scores["recall"]))  # fmt: skip
    return table(
        "Against the labelled mismatches",
        ("labelled", "found", "missed", "false", "precision", "recall"),
        [row],
    )


def _out(amount: Decimal | None) -> float | None:
    """An amount for CSV/JSON: a float rounded to 4 decimals."""
    return None if amount is None else float(amount.quantize(_CENT))
