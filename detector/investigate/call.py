"""`cdr-detector call UUID`: one call's story, for the moment an alert or a ticket names it.

What it shows: the timeline (start, answer, end; ring and talk seconds), the parties with the
destination's country and number type, direction, trunk, cost, the hangup cause, Vobiz code
and SIP response with their meanings and class (`detector.enrich.causes`), and the account's
context: its other calls in the same minute, its KPIs over the same clock hour, and the alerts
the call belongs to (from the daemon's state file or a backtest's alerts JSONL).

Without `--account`, the account is taken from an alert whose evidence names the call, else
each account is asked in turn (one request per account: pass `--account` on big partners).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from detector.domain import CDR, Rejected
from detector.enrich.causes import cause_class, code_meaning, sip_meaning, text_cause
from detector.enrich.kpi import Kpis, Tally
from detector.errors import DetectorError
from detector.investigate import alerts
from detector.investigate.output import clean, iso, money, num, pct, print_tables, table, write_json
from detector.investigate.query import cdr_fields
from detector.investigate.reader import Days, Filters
from detector.investigate.session import Session, Where, session

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@dataclass(slots=True)
class CallStory:
    """Everything `call` shows about one call."""

    cdr: CDR
    row: dict[str, Any]
    same_minute: list[CDR] = field(default_factory=list)
    hour: Kpis | None = None
    alerts: list[tuple[alerts.Episode, str]] = field(default_factory=list)
    alerts_note: str = "none recorded for this call"


def meanings(cdr: CDR) -> dict[str, str]:
    """The call's causes in words: text cause, Vobiz code, SIP code and the class."""
    out: dict[str, str] = {"class": cause_class(cdr).value}
    known = text_cause(cdr.hangup_cause) if cdr.hangup_cause else None
    if known is not None:
        q850 = f" (Q.850 {known.q850})" if known.q850 is not None else ""
        out["hangup_cause"] = f"{known.name}{q850}: {known.meaning}"
    elif cdr.hangup_cause:
        out["hangup_cause"] = f"{cdr.hangup_cause}: not a cause this table knows"
    if cdr.hangup_code is not None:
        out["hangup_code"] = f"{cdr.hangup_code}: {code_meaning(cdr.hangup_code)[0]}"
    if cdr.sip_code is not None:
        out["sip_code"] = f"{cdr.sip_code}: {sip_meaning(cdr.sip_code)[0]}"
    return out


def call_command(
    where: Where,
    call_id: str,
    *,
    account: str | None,
    state: Path | None,
    alerts_file: Path | None,
    as_json: bool,
) -> None:
    """Look up one call and print its story (text or JSON)."""
    with session(where) as current:
        if account is None:
            named = _episodes(current, state, alerts_file, None, call_id) or []
            account = alerts.account_of(named, call_id) or _search(current, call_id)
        row, item = current.reader.call(account, call_id)
        if isinstance(item, Rejected):
            raise DetectorError(
                f"call {call_id} of {account} cannot be read ({item.reason}: {item.detail}); "
                f"as received: {clean(row)[:500]}"
            )
        story = CallStory(item, row)
        _context(current, story)
        known = _episodes(current, state, alerts_file, account, None)
        if known is None:
            story.alerts_note = (
                f"no state file at {current.settings.state.path} to look in "
                "(--state FILE or --alerts FILE)"
            )
        story.alerts = alerts.related(known or [], item)
    if as_json:
        write_json(sys.stdout, story_json(story))
    else:
        print_story(story)


def _episodes(
    current: Session,
    state: Path | None,
    alerts_file: Path | None,
    account: str | None,
    call_id: str | None,
) -> list[alerts.Episode] | None:
    """Alert episodes of `account` (or naming `call_id`) from `--alerts`, `--state`, or the
    configured state file when it exists; None when there is nowhere to look."""
    if alerts_file is not None:
        return alerts.from_file(alerts_file)
    path = state or current.settings.state.path
    if state is None and not path.exists():
        return None
    return alerts.from_state(path, account, call_id)


def _search(current: Session, call_id: str) -> str:
    count = len(current.reader.accounts())
    current.console.print(f"looking for {call_id} in {count} accounts (--account skips this)")
    return current.reader.find_account(call_id)


def _context(current: Session, story: CallStory) -> None:
    """The account's calls in the call's clock hour: the same minute's, and the hour's KPIs."""
    start = story.cdr.start
    hour = start.replace(minute=0, second=0, microsecond=0)
    minute = start.replace(second=0, microsecond=0)
    zone = ZoneInfo(current.settings.poll.date_tz)
    days = Days(hour.astimezone(zone).date(), (hour + HOUR - MINUTE).astimezone(zone).date())
    calls = [
        c
        for found in current.reader.days(days, Filters(), story.cdr.account)
        for c in found.cdrs
        if hour <= c.start < hour + HOUR
    ]
    tally = Tally()
    for call in calls:
        tally.add(call)
    story.hour = tally.kpis() if calls else None
    story.same_minute = [c for c in calls if minute <= c.start < minute + MINUTE]


def story_json(story: CallStory) -> dict[str, object]:
    """The story as `call --json` prints it."""
    hour = story.cdr.start.replace(minute=0, second=0, microsecond=0)
    return {
        "call": {**cdr_fields(story.cdr), "meaning": meanings(story.cdr)},
        "raw": story.row,
        "same_minute": [cdr_fields(c) for c in story.same_minute],
        "hour": {"start": iso(hour), **_kpi_json(story.hour)},
        "alerts": [{**e.to_json(), "relation": how} for e, how in story.alerts],
    }


def _kpi_json(kpis: Kpis | None) -> dict[str, object]:
    if kpis is None:
        return {"attempts": 0}
    return {
        "attempts": kpis.attempts, "answered": kpis.answered, "asr": kpis.asr,
        "acd_s": kpis.acd_s, "ner": kpis.ner, "short_share": kpis.short_share,
        "mean_ring_s": kpis.mean_ring_s, "spend": kpis.spend,
    }  # fmt: skip


def print_story(story: CallStory) -> None:
    """The story as text tables on stdout."""
    cdr = story.cdr
    facts = [
        ("account", cdr.account), ("direction", cdr.direction.value),
        ("from", cdr.from_number), ("to", _to(cdr)),
        ("start", iso(cdr.start)), ("answer", _answer(cdr)),
        ("end", f"{iso(cdr.end)}  (talked {cdr.talk_s:g} s)"),
        ("status", cdr.status.value),
        *((name, text) for name, text in meanings(cdr).items()),
        ("cost", f"{cdr.cost:g} {cdr.currency}".strip()),
        ("trunk", _trunk(cdr, story.row)), ("context", cdr.context),
    ]  # fmt: skip
    if cdr.mos is not None:
        facts.append(("MOS", f"{cdr.mos:g}"))
    tables = [table(f"Call {cdr.call_id}", ("field", "value"), facts)]
    minute = cdr.start.strftime("%H:%M")
    tables.append(
        table(
            f"{cdr.account}: calls starting in the same minute ({minute} UTC): "
            f"{len(story.same_minute)}",
            ("start", "dir", "status", "from", "to", "talk s", "cause", "call"),
            [_minute_row(c, c.call_id == cdr.call_id) for c in story.same_minute],
        )
    )
    tables.append(_hour_table(cdr, story.hour))
    if story.alerts:
        columns = ("rule", "severity", "how", "fired", "resolved", "summary")
        rows = [_alert_row(e, how) for e, how in story.alerts]
        tables.append(table("Alerts this call belongs to", columns, rows))
    print_tables(tables)
    if not story.alerts:
        sys.stdout.write(f"Alerts: {story.alerts_note}\n")


def _alert_row(episode: alerts.Episode, how: str) -> tuple[str, ...]:
    rule = episode.rule + (" (shadow)" if episode.shadow else "")
    ends = iso(episode.ends_at) or "still firing"
    return (rule, episode.severity, how, iso(episode.starts_at), ends, episode.summary)


def _to(cdr: CDR) -> str:
    where = ", ".join(x for x in (cdr.dest_country, cdr.dest_type) if x)
    return f"{cdr.to_number}  ({where})" if where else cdr.to_number


def _answer(cdr: CDR) -> str:
    if cdr.answer is None:
        return f"not answered  (rang {cdr.ring_s:g} s)"
    return f"{iso(cdr.answer)}  (rang {cdr.ring_s:g} s)"


def _trunk(cdr: CDR, row: dict[str, Any]) -> str:
    name = row.get("trunk_name")
    return f"{cdr.trunk} ({name})" if isinstance(name, str) and name else cdr.trunk


def _minute_row(cdr: CDR, this: bool) -> tuple[str, ...]:
    return (
        cdr.start.strftime("%H:%M:%S"), cdr.direction.value, cdr.status.value, cdr.from_number,
        cdr.to_number, f"{cdr.talk_s:g}", cdr.hangup_cause,
        cdr.call_id + ("  ◀ this call" if this else ""),
    )  # fmt: skip


def _hour_table(cdr: CDR, kpis: Kpis | None) -> Any:
    hour = cdr.start.replace(minute=0, second=0, microsecond=0)
    title = f"{cdr.account} from {iso(hour)} to {iso(hour + HOUR)}"
    columns = ("attempts", "ASR", "ACD s", "NER", "short calls", "mean ring s", "spend")
    if kpis is None:
        return table(title, columns, [])
    row = (str(kpis.attempts), pct(kpis.asr), num(kpis.acd_s), pct(kpis.ner),
           pct(kpis.short_share), num(kpis.mean_ring_s), money(kpis.spend))  # fmt: skip
    return table(title, columns, [row])
