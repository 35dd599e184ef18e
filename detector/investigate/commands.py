"""The investigation commands' options: `call`, `cdrs` and `report billing|no-answer|kpis`.

Only argument parsing lives here (registered on the main app by `detector.cli`); each command
hands its options to the module that does the work, imported when the command runs so
`--help` stays fast. Errors become one line and an exit code through the CLI's guard.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

T = TypeVar("T")
report_app = typer.Typer(
    no_args_is_help=True, help="Month-end and monitoring reports from the partner CDR API."
)

Config = Annotated[Path | None, typer.Option(help="YAML settings file (API, mode, date_tz)")]
ApiUrl = Annotated[str | None, typer.Option(help="Partner API base URL")]
Mode = Annotated[
    str | None, typer.Option(help="global (the /cdrs feed) or per-account (each account's list)")
]
Account = Annotated[str | None, typer.Option(help="Customer account id (MA_...)")]
Format = Annotated[str, typer.Option("--format", help="table, csv or json")]
First = Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD")]
Last = Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD")]


def _guarded(fn: Callable[[], T]) -> T:
    from detector.cli import _guard  # the CLI's one mapping of errors to exit codes

    return _guard(fn)


def call(
    call_id: Annotated[str, typer.Argument(metavar="UUID", help="The call's id (call_uuid)")],
    account: Account = None,
    state: Annotated[
        Path | None, typer.Option(help="Daemon state file for alerts (default: the configured)")
    ] = None,
    alerts: Annotated[
        Path | None, typer.Option(help="Alerts JSONL (backtest --out) instead of a state file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    config: Config = None,
    api_url: ApiUrl = None,
    mode: Mode = None,
) -> None:
    """One call: timeline, parties, cost, trunk, causes with their meaning, context, alerts."""
    from detector.investigate.call import call_command
    from detector.investigate.session import Where

    where = Where(config, api_url, mode)
    _guarded(lambda: call_command(where, call_id, account=account, state=state,
                                  alerts_file=alerts, as_json=as_json))  # fmt: skip


def cdrs(
    date_from: First,
    date_to: Last,
    account: Account = None,
    direction: Annotated[str | None, typer.Option(help="inbound or outbound")] = None,
    status: Annotated[
        str | None, typer.Option(help="answered, no-answer, busy, failed, cancelled")
    ] = None,
    hangup_cause: Annotated[str | None, typer.Option(help="e.g. NO_ANSWER")] = None,
    from_number: Annotated[str | None, typer.Option(help="Caller number contains")] = None,
    to_number: Annotated[str | None, typer.Option(help="Dialled number contains")] = None,
    search: Annotated[str | None, typer.Option(help="Either number contains")] = None,
    min_duration: Annotated[int | None, typer.Option(help="Talk seconds at least")] = None,
    max_duration: Annotated[int | None, typer.Option(help="Talk seconds at most")] = None,
    context: Annotated[str | None, typer.Option(help="e.g. sip-trunking")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or jsonl")] = "table",
    out: Annotated[Path | None, typer.Option(help="Write to this file, not stdout")] = None,
    raw: Annotated[
        bool, typer.Option(help="JSON lines of the rows exactly as the API sent them")
    ] = False,
    config: Config = None,
    api_url: ApiUrl = None,
    mode: Mode = None,
) -> None:
    """CDRs of a date range with every API filter, streamed as a table, CSV or JSON lines."""
    from detector.investigate.query import cdrs_command
    from detector.investigate.reader import Days, Filters
    from detector.investigate.session import Where

    def run() -> int:
        filters = Filters.parse(
            direction=direction,
            status=status,
            hangup_cause=hangup_cause,
            from_number=from_number,
            to_number=to_number,
            search=search,
            min_duration=min_duration,
            max_duration=max_duration,
            context=context,
        )
        days = Days.parse(date_from, date_to)
        where = Where(config, api_url, mode)
        return cdrs_command(where, days, filters, account=account, fmt=fmt, out=out, raw=raw)

    _guarded(run)


@report_app.command("billing")
def billing(
    period: Annotated[str, typer.Option(help="Billing month, YYYY-MM")],
    rate_card: Annotated[Path, typer.Option(help="Rate card YAML (see the README)")],
    account: Account = None,
    tolerance: Annotated[
        float | None, typer.Option(help="Allowed difference (default: the card's, else 0.01)")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Simulator's mispriced calls JSONL: score the report")
    ] = None,
    limit: Annotated[int, typer.Option(help="Mismatches shown in the table")] = 50,
    fmt: Format = "table",
    config: Config = None,
    api_url: ApiUrl = None,
    mode: Mode = None,
) -> None:
    """Recompute each call's charge from a rate card; list the calls billed differently."""
    from detector.investigate.billing import billing_command
    from detector.investigate.session import Where

    where = Where(config, api_url, mode)
    _guarded(
        lambda: billing_command(
            where,
            account=account,
            period=period,
            rate_card=rate_card,
            tolerance=tolerance,
            fmt=fmt,
            labels=labels,
            limit=limit,
        )
    )


@report_app.command("no-answer")
def no_answer(
    days: Annotated[
        int, typer.Option(help="Days in the period (compared with as many before)")
    ] = 7,
    until: Annotated[
        str | None, typer.Option(help="Last day of the period, YYYY-MM-DD (default yesterday)")
    ] = None,
    account: Account = None,
    top: Annotated[int, typer.Option(help="Rows per group")] = 10,
    fmt: Format = "table",
    config: Config = None,
    api_url: ApiUrl = None,
    mode: Mode = None,
) -> None:
    """No-answer rate per account, trunk, destination and inbound number, with what it flags."""
    from detector.investigate.noanswer import no_answer_command
    from detector.investigate.session import Where

    where = Where(config, api_url, mode)
    _guarded(lambda: no_answer_command(where, days=days, until=until, account=account, top=top,
                                       fmt=fmt))  # fmt: skip


@report_app.command("kpis")
def kpis(
    date_from: First,
    date_to: Last,
    account: Account = None,
    top: Annotated[int, typer.Option(help="Keys per grouping, by attempts")] = 10,
    chart: Annotated[Path | None, typer.Option(help="Also draw a PNG chart to this file")] = None,
    fmt: Format = "table",
    config: Config = None,
    api_url: ApiUrl = None,
    mode: Mode = None,
) -> None:
    """ASR, ACD, NER, short calls, ring time and spend by account, trunk and country."""
    from detector.investigate.kpis import kpis_command
    from detector.investigate.reader import Days
    from detector.investigate.session import Where

    def run() -> object:
        span = Days.parse(date_from, date_to)
        where = Where(config, api_url, mode)
        return kpis_command(where, days=span, account=account, top=top, fmt=fmt, chart=chart)

    _guarded(run)


def register(app: typer.Typer) -> None:
    """Add `call`, `cdrs` and the `report` group to the main app."""
    app.command("call")(call)
    app.command("cdrs")(cdrs)
    app.add_typer(report_app, name="report")
