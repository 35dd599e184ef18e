"""The `cdr-detector` command: run · doctor · demo · simulate · backtest · backfill · rules ·
state · silence · outbox (the rules commands live in `detector.rules.commands`, the state
commands in `detector.state.commands`, silence and outbox in `detector.alerting.commands`, the
investigation commands in `detector.investigate.commands`).

Every command translates our own errors into a one-line message and an exit code; tracebacks
are for bugs only. Exit codes: 0 done (or stopped by SIGTERM/SIGINT); 1 a failure that may pass
(retry later: a full disk at start, a bug); 2 a mistake to fix before starting again (settings,
rules, credentials refused by the API, a damaged or unusable state file) — supervisors must
not restart on 2 (`RestartPreventExitStatus=2` in the systemd unit).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from detector import __version__, logs
from detector.errors import DetectorError, exit_code

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode=None
)  # plain help: flags show no metavar, nothing is wrapped to the terminal's width
err = Console(stderr=True, soft_wrap=True)
"""Errors are not wrapped: a path or rule id split across lines cannot be copied."""
T = TypeVar("T")


def _guard(fn: Callable[[], T], config: Path | None = None) -> T:
    """Run `fn`, turning our errors into one line (in the log's format) and an exit code.

    The log format is the one the command configured, else the one its settings (`config`
    and the environment) would choose, so a settings error in a JSON deployment is JSON too.
    """
    try:
        return fn()
    except DetectorError as exc:
        from detector.config import peek_log_format

        fmt = logs.configured_format() or peek_log_format(config)
        logs.report_error(str(exc), exit_code(exc), fmt)
        raise typer.Exit(exit_code(exc)) from exc


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cdr-detector {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Streaming fraud and anomaly detection for telecom CDRs (the Vobiz partner feed)."""


@app.command()
def run(
    config: Annotated[Path | None, typer.Option(metavar="FILE", help="YAML settings file")] = None,
    api_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Partner API base URL (a bare host gets /api/v1/partner)"),
    ] = None,
    state: Annotated[Path | None, typer.Option(metavar="FILE", help="SQLite state file")] = None,
    metrics_addr: Annotated[
        str | None, typer.Option(metavar="HOST:PORT", help="Where to serve /metrics")
    ] = None,
    rules: Annotated[Path | None, typer.Option(metavar="DIR", help="Rule directory")] = None,
) -> None:
    """Tail the partner CDR feed, detect, alert (credentials from CDR_DETECTOR_AUTH_ID/_TOKEN)."""
    from detector import assembly

    overrides = {
        k: v
        for k, v in {
            "api.url": api_url,
            "state.path": state,
            "metrics.listen": metrics_addr,
            "rules.dir": rules,
        }.items()
        if v is not None
    }
    code = _guard(lambda: assembly.run_daemon(config, overrides), config)
    raise typer.Exit(code)


@app.command()
def demo(
    accounts: Annotated[int, typer.Option(help="Simulated customer accounts")] = 40,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
    stop_after: Annotated[
        float, typer.Option(help="Stop after this many wall seconds (0 = Ctrl-C)")
    ] = 0.0,
) -> None:
    """Start the simulator and the daemon together on loopback and watch alerts fire live."""
    from detector import demo as demo_mod

    _guard(
        lambda: demo_mod.run_demo(accounts=accounts, speed=speed, seed=seed, stop_after=stop_after)
    )


@app.command()
def simulate(
    listen: Annotated[
        str, typer.Option(help="HOST:PORT to serve the fake partner API on")
    ] = "127.0.0.1:8080",
    accounts: Annotated[int, typer.Option(help="Simulated customer accounts")] = 50,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same traffic)")] = 1,
    duration: Annotated[str, typer.Option(help="Simulated span, e.g. 24h, 7d")] = "24h",
    start: Annotated[str | None, typer.Option(help="Simulated start, ISO 8601 or 'now'")] = None,
    scenario: Annotated[Path | None, typer.Option(help="Incident scenario YAML")] = None,
    labels_out: Annotated[
        Path | None, typer.Option(help="Write incident ground truth JSONL")
    ] = None,
    to_file: Annotated[
        Path | None, typer.Option(help="Write traffic as JSONL instead of serving")
    ] = None,
    mispriced_out: Annotated[
        Path | None,
        typer.Option(help="Write the calls billed wrong on purpose (chaos.cost_mismatch_rate)"),
    ] = None,
    shape: Annotated[str, typer.Option(help="Response shape: a or b")] = "a",
    world_seed: Annotated[
        int | None,
        typer.Option(help="Serve world N: varied accounts and graded incidents (no --scenario)"),
    ] = None,
    auth_id: Annotated[
        str | None, typer.Option(help="Accepted X-Auth-ID (default $CDR_DETECTOR_AUTH_ID)")
    ] = None,
    auth_token: Annotated[
        str | None, typer.Option(help="Accepted X-Auth-Token (default $CDR_DETECTOR_AUTH_TOKEN)")
    ] = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Post signed trunk webhooks here ($CDR_DETECTOR_TRUNK_WEBHOOK_SECRET)"),
    ] = None,
) -> None:
    """Serve a fake Vobiz partner API with realistic traffic and injected incidents."""
    from detector import simcli

    _guard(
        lambda: simcli.main(
            listen=listen,
            accounts=accounts,
            speed=speed,
            seed=seed,
            duration=duration,
            start=start,
            scenario=scenario,
            labels_out=labels_out,
            to_file=to_file,
            mispriced_out=mispriced_out,
            world_seed=world_seed,
            webhook_url=webhook_url,
            shape=shape,
            auth_id=auth_id,
            auth_token=auth_token,
        )
    )


@app.command()
def backtest(
    input_file: Annotated[Path, typer.Argument(help="JSONL/CSV of wire rows (either shape)")],
    rules: Annotated[Path, typer.Option(help="Rule directory")] = Path("rules"),
    out: Annotated[Path | None, typer.Option(help="Write alert notifications as JSONL")] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Simulator labels JSONL: score the alerts")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    model: Annotated[
        bool, typer.Option(help="Include the anomaly model (--no-model = --detectors rules)")
    ] = True,
    settle: Annotated[str, typer.Option(help="Event time to let pass after the last CDR")] = "0s",
    detectors: Annotated[
        str, typer.Option(help="rules, models or all: which detectors run")
    ] = "all",
) -> None:
    """Replay a file through the live detection path and summarise what would have fired."""
    from detector import report

    chosen = detectors if model else "rules"
    _guard(lambda: report.backtest_command(input_file, rules, out, labels, fmt, chosen, settle))


@app.command()
def score(
    input_file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a timestamp,value or timestamp,key,value header; - for stdin"
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write the scored CSV here (default stdout)")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Zone of the seasonal hours")] = "UTC",
    window: Annotated[
        float, typer.Option(help="Rows of mean age in the level-shift window")
    ] = 12.0,
) -> None:
    """Anomaly scores in [0, 1] for your own series: writes timestamp[,key],value,anomaly_score.

    Streaming: each score uses only the rows above it. The same count statistics and
    seasonal baselines as the CDR model (README "Scoring your own series").
    """
    from detector import scorefile

    summary = _guard(lambda: scorefile.score_command(input_file, out, timezone, window))
    err.print(
        f"scored {summary.rows:,} rows of {summary.keys:,} series; "
        f"{summary.above_09:,} scored 0.9 or more"
    )


@app.command()
def backfill(
    date_from: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD")],
    account: Annotated[str | None, typer.Option(help="Only this customer account")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML settings file")] = None,
    api_url: Annotated[str | None, typer.Option(help="Partner API base URL")] = None,
    state: Annotated[Path | None, typer.Option(help="SQLite state file")] = None,
) -> None:
    """Feed a date range of history through the detector to warm up baselines."""
    from detector import assembly

    overrides = {
        k: v for k, v in {"api.url": api_url, "state.path": state}.items() if v is not None
    }
    _guard(
        lambda: assembly.run_backfill(
            config, overrides, date.fromisoformat(date_from), date.fromisoformat(date_to), account
        )
    )


@app.command()
def doctor(
    config: Annotated[Path | None, typer.Option(metavar="FILE", help="YAML settings file")] = None,
    api_url: Annotated[str | None, typer.Option(metavar="URL", help="Partner API base URL")] = None,
    state: Annotated[Path | None, typer.Option(metavar="FILE", help="SQLite state file")] = None,
    rules: Annotated[Path | None, typer.Option(metavar="DIR", help="Rule directory")] = None,
    metrics_addr: Annotated[
        str | None, typer.Option(metavar="HOST:PORT", help="Where the daemon serves /metrics")
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            metavar="RECEIVER", help="Send a test notification to this receiver (repeat; 'all')"
        ),
    ] = None,
) -> None:
    """Check settings, API credentials, rules, state file, receivers and the metrics port."""
    from detector.doctor import diagnose, render

    overrides = {
        k: v
        for k, v in {
            "api.url": api_url, "state.path": state, "rules.dir": rules,
            "metrics.listen": metrics_addr,
        }.items()
        if v is not None
    }  # fmt: skip
    checks = diagnose(config, overrides, notify or ())
    typer.echo(render(checks))
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def _register_investigation() -> None:
    from detector.investigate.commands import register

    register(app)


def _register_alerting() -> None:
    from detector.alerting.commands import register

    register(app)


def _register_rules() -> None:
    from detector.rules.commands import register

    register(app)


def _register_state() -> None:
    from detector.state.commands import register

    register(app)


_register_rules()
_register_investigation()
_register_alerting()
_register_state()
