"""The rule author's commands at the edge: read a CDR or traffic, explain, try, print.

`rules explain RULE --cdr FILE|JSON` takes one wire row (either response shape) given inline
as a JSON object, or a JSONL/CSV file holding one row (or several and ``--call-id``). The row
goes through the live `normalize`, so the explanation sees the call exactly as the daemon
would.

`rules try RULE INPUT [--since]` replays a JSONL/CSV file (like `backtest`), or with INPUT
``api`` the partner API's calls of the last ``--since`` (default 7d; read like `backfill`,
then replayed oldest first), through that one rule (`detector.trial`), and prints when it
would have fired, how often per local day, the accounts, and a histogram of each key's daily
peak value against the thresholds. ``--since`` is a duration (before the newest CDR of a
file, or before now for the API) or an ISO time. Without ``--since`` a file is replayed
whole, in the backtest's batches, so the firings are exactly the backtest's for that rule.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from detector import assembly
from detector.backtest import BacktestResult
from detector.config import load_settings
from detector.domain import CDR, Rejected
from detector.errors import ConfigError
from detector.histogram import number, text_histogram
from detector.lint import LintWarning, sample_warnings, static_warnings
from detector.metrics import Metrics
from detector.rules.explain import explain, render, unknown_rule
from detector.rules.horizon import beyond_horizon
from detector.rules.loader import check_rules, load_rules
from detector.rules.spec import AnyRule, parse_duration
from detector.rules.template import human_duration
from detector.source.files import read_cdrs
from detector.source.normalize import normalize
from detector.trial import Tally, Trial, run_trial


def explain_command(rules_dir: Path, rule_id: str, source: str, call_id: str | None) -> str:
    """The text of `rules explain`."""
    ruleset = load_rules(rules_dir)
    cdr = read_one_cdr(source, call_id)
    try:
        return render(explain(ruleset, rule_id, cdr))
    except KeyError as exc:
        raise ConfigError(f"{rules_dir}: {exc.args[0]}") from exc


def read_one_cdr(source: str, call_id: str | None = None) -> CDR:
    """The CDR of an inline JSON wire row, or of a file's only row (or the row `call_id`)."""
    text = source.strip()
    if text.startswith("{"):
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"--cdr: not a JSON object ({exc.msg} at column {exc.colno})"
            ) from exc
        return _usable(normalize(row), "--cdr")
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"--cdr: {source!r} is neither a JSON object nor a file")
    items = list(read_cdrs(path))
    if call_id is not None:
        items = [i for i in items if i.call_id == call_id]
        if not items:
            raise ConfigError(f"--cdr: no call {call_id!r} in {path}")
    elif len(items) != 1:
        raise ConfigError(f"--cdr: {path} holds {len(items)} rows; pick one with --call-id")
    return _usable(items[0], str(path))


def _usable(item: CDR | Rejected, where: str) -> CDR:
    if isinstance(item, Rejected):
        raise ConfigError(f"{where}: the row is not a usable CDR ({item.reason}: {item.detail})")
    return item


API = "api"
"""The INPUT of `rules try` that means the partner API's recent traffic (a file named so is
``./api``)."""
API_SINCE = "7d"
"""How far back `rules try RULE api` reads when no ``--since`` is given."""
LISTED = 20
"""Firings listed one per line by `rules try` (the rest are counted)."""


def try_command(
    rules_dir: Path, rule_id: str, source: str, since: str | None, config: Path | None,
    api_url: str | None,
) -> str:  # fmt: skip
    """The text of `rules try`: when RULE would have fired over a file or the API's traffic."""
    ruleset = load_rules(rules_dir)
    if rule_id not in {r.id for r in ruleset.rules}:
        raise ConfigError(f"{rules_dir}: {unknown_rule(ruleset, rule_id)}")
    items: Iterable[CDR | Rejected]
    if source == API:
        items, label = _api_traffic(config, api_url, since or API_SINCE), "the API"
    else:
        items, label = _file_traffic(Path(source), since), source
    trial = run_trial(ruleset, items, [rule_id])
    return "\n".join(trial_report(trial, trial.rules[0], label))


def _cutoff(since: str, newest: datetime | None) -> datetime | None:
    """The earliest start kept for ``--since``: a duration before `newest`, or an ISO time."""
    try:
        return newest - timedelta(seconds=parse_duration(since)) if newest else None
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise ConfigError(
            f"--since: {since!r} is neither a duration (7d, 36h) nor an ISO time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _file_traffic(path: Path, since: str | None) -> Iterable[CDR | Rejected]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (INPUT is a JSONL/CSV file, or 'api')")
    if since is None:
        return read_cdrs(path)
    newest = max((i.start for i in read_cdrs(path) if isinstance(i, CDR)), default=None)
    cutoff = _cutoff(since, newest)
    return (
        i for i in read_cdrs(path) if cutoff is None or not isinstance(i, CDR) or i.start >= cutoff
    )


def _api_traffic(config: Path | None, api_url: str | None, since: str) -> list[CDR | Rejected]:
    """The partner API's calls of the last `since`, oldest first (read as `backfill` does)."""
    settings = load_settings(config, {"api.url": api_url} if api_url else {})
    now = datetime.now(UTC)
    cutoff = _cutoff(since, now) or now
    api = assembly.build_api(settings, Metrics(account_cap=settings.metrics.account_cap))
    cdrs: list[CDR] = []
    rejected: list[CDR | Rejected] = []
    try:
        poller = assembly.build_poller(settings, api)
        for page in poller.backfill(
            cutoff.date() - timedelta(days=1), now.date() + timedelta(days=1)
        ):
            cdrs += [c for c in page.cdrs if c.start >= cutoff]
            rejected += page.rejected
    finally:
        api.close()
    return [*sorted(cdrs, key=lambda c: c.start), *rejected]


def trial_report(trial: Trial, rule: AnyRule, source: str) -> list[str]:
    """`rules try`'s lines: traffic, matches, firings, per day, accounts, value histogram."""
    result, tally = trial.replay, trial.tallies[rule.id]
    firings = trial.firings(rule.id)
    days = trial.days()
    out = [f"rule {rule.id} ({rule.kind}, window {human_duration(rule.window)}, "
           f"mode {rule.mode}) over {source}"]  # fmt: skip
    out.append(_traffic_line(result, days))
    share = f" ({tally.matched / result.cdrs:.1%})" if result.cdrs else ""
    held = "".join(f"; {name} held for {n:,}" for name, n in sorted(tally.held.items()))
    out.append(f"matched: {tally.matched:,} calls{share}{held}")
    accounts = Counter(a["account"] for a in firings)
    critical = sum(a["severity"] == "critical" for a in firings)
    per_day = len(firings) / max(len(days), 1)
    out.append(f"fired: {len(firings)} alerts on {len(accounts)} accounts "
               f"({per_day:.1f} per day; {critical} critical)")  # fmt: skip
    if firings:
        out += ["", *_firing_lines(firings), "", *_day_lines(firings, days, trial.zone)]
        out += ["", *_account_lines(accounts)]
    out += ["", *_value_lines(rule, tally)]
    return out


def _traffic_line(result: BacktestResult, days: list[date]) -> str:
    if result.first is None or result.last is None:
        return "traffic: no CDRs"
    span = (result.last - result.first).total_seconds() / 86400
    return (f"traffic: {result.cdrs:,} CDRs from {len(result.accounts)} accounts, "
            f"{result.first:%Y-%m-%d %H:%M} to {result.last:%Y-%m-%d %H:%M} UTC "
            f"({span:.1f} days; {sum(result.rejected.values())} rows rejected)")  # fmt: skip


def _firing_lines(firings: list[dict[str, Any]]) -> list[str]:
    lines = ["when (UTC)        account       severity  value     summary"]
    for a in firings[:LISTED]:
        when = a["at"].replace("T", " ")[:16]
        lines.append(f"{when}  {a['account']:<12}  {a['severity']:<8}  "
                     f"{number(float(a['value'])):<8}  {a['summary']}")  # fmt: skip
    if len(firings) > LISTED:
        lines.append(f"… and {len(firings) - LISTED} more")
    return lines


def _day_lines(firings: list[dict[str, Any]], days: list[date], zone: ZoneInfo) -> list[str]:
    by_day = Counter(
        datetime.fromisoformat(a["at"].replace("Z", "+00:00")).astimezone(zone).date()
        for a in firings
    )
    top = max(by_day.values(), default=1)
    lines = [f"per day ({zone.key})"]
    for day in days:
        n = by_day.get(day, 0)
        lines.append(f"{day}  {'█' * (-(-n * 20 // top)) if n else '':<20}  {n}")
    return lines


def _account_lines(accounts: Counter[str]) -> list[str]:
    width = max(len("account"), *map(len, accounts))
    rows = [f"{a:<{width}}  {n}" for a, n in accounts.most_common(LISTED)]
    more = [f"… and {len(accounts) - LISTED} more"] if len(accounts) > LISTED else []
    return [f"{'account':<{width}}  alerts", *rows, *more]


def _value_lines(rule: AnyRule, tally: Tally) -> list[str]:
    values = list(tally.peaks.values())
    levels = [(level, name) for name, level in
              (("warning", rule.thresholds.warning), ("critical", rule.thresholds.critical))
              if level is not None]  # fmt: skip
    if not values:
        floor = f"min_volume {rule.min_volume}" if rule.min_volume else "a reading"
        return [f"value: no reading could be judged (highest volume {number(tally.top_volume)}, "
                f"needs {floor})"]  # fmt: skip
    head = (f"value: each key's daily peak, {len(values):,} key-days "
            f"(highest {number(max(values))})")  # fmt: skip
    return [head, *text_histogram(values, levels)]


def check_command(
    directory: Path, sample: Path | None, config: Path | None = None
) -> tuple[str, list[LintWarning]]:
    """`rules check`: the ok line and every warning (errors raise `RuleErrors`); `config` is
    the daemon's settings file, whose `poll.lateness_horizon_s` the rules are checked against
    (default: the default horizon)."""
    ruleset = check_rules(directory)
    warnings = static_warnings(ruleset)
    horizon = load_settings(config).poll.lateness_horizon_s
    warnings += [
        LintWarning(ruleset.files.get(rule, ""), rule, message)
        for rule, message in beyond_horizon(ruleset.rules, horizon)
    ]
    if sample is not None:
        if not sample.is_file():
            raise ConfigError(f"--sample: {sample}: no such file (a JSONL/CSV file of wire rows)")
        warnings += sample_warnings(ruleset, run_trial(ruleset, read_cdrs(sample)))
    return f"ok: {len(ruleset.rules)} rules in {directory}", warnings
