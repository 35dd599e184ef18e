"""The rule-authoring commands: `rules check|explain|try|test|timezones`.

Registered on the main app by `detector.cli`; errors become one line and an exit code through
the CLI's guard, and a rule set with several problems prints each on its own line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

T = TypeVar("T")
rules_app = typer.Typer(
    no_args_is_help=True, help="Validate and test rule sets.", rich_markup_mode=None
)


def register(app: typer.Typer) -> None:
    """Add the `rules` command group to `app`."""
    app.add_typer(rules_app, name="rules")


def _guarded(fn: Callable[[], T]) -> T:
    from detector.cli import _guard  # the CLI's one mapping of errors to exit codes

    return _guard(fn)


@rules_app.command("check")
def rules_check(
    directory: Annotated[Path, typer.Argument(help="Rule directory")],
    sample: Annotated[
        Path | None, typer.Option(help="Replay this JSONL/CSV file and warn about each rule")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 when there is any warning")] = False,
    config: Annotated[
        Path | None, typer.Option(help="Daemon settings: check rules against its poll horizon")
    ] = None,
) -> None:
    """Validate every rule file and `_models.yaml` and print every problem (file, line, rule,
    field); then warn about rules that load but misbehave (twins; rules needing calls longer
    than the poll horizon; with --sample, what the traffic shows)."""
    from detector.authoring import check_command
    from detector.models.loader import read_models_file

    ok, warnings = _guarded(
        lambda: _all_rule_errors(lambda: check_command(directory, sample, config))
    )
    _guarded(lambda: read_models_file(directory))
    typer.echo(ok)
    for warning in warnings:
        typer.echo(f"warning: {warning}")
    if warnings:
        typer.echo(f"{len(warnings)} warning{'s' * (len(warnings) != 1)}")
    if warnings and strict:
        raise typer.Exit(1)


def _all_rule_errors(fn: Callable[[], T]) -> T:
    """Run `fn`; on `RuleErrors` print each problem on its own line and a count, exit 2."""
    from detector.errors import RuleErrors

    try:
        return fn()
    except RuleErrors as exc:
        for error in exc.errors:
            typer.echo(f"error: {error}", err=True)
        files = len({e.path for e in exc.errors})
        count = len(exc.errors)
        typer.echo(
            f"{count} error{'s' * (count != 1)} in {files} file{'s' * (files != 1)}", err=True
        )
        raise typer.Exit(2) from exc


@rules_app.command("explain")
def rules_explain(
    rule: Annotated[str, typer.Argument(help="Rule id")],
    cdr: Annotated[str, typer.Option(help="One wire row: a JSON object, or a JSONL/CSV file")],
    rules: Annotated[Path, typer.Option(help="Rule directory")] = Path("rules"),
    call_id: Annotated[str | None, typer.Option(help="The row to take from a file")] = None,
) -> None:
    """Why RULE does or does not look at one CDR: each clause with the call's value and
    verdict, the derived fields it read, and what the call adds to its window."""
    from detector.authoring import explain_command

    typer.echo(
        _guarded(lambda: _all_rule_errors(lambda: explain_command(rules, rule, cdr, call_id)))
    )


@rules_app.command("try")
def rules_try(
    rule: Annotated[str, typer.Argument(help="Rule id")],
    source: Annotated[str, typer.Argument(metavar="INPUT", help="JSONL/CSV file, or 'api'")],
    since: Annotated[
        str | None, typer.Option(help="Only calls since: a duration (7d) or an ISO time")
    ] = None,
    rules: Annotated[Path, typer.Option(help="Rule directory")] = Path("rules"),
    config: Annotated[Path | None, typer.Option(help="YAML settings file (for 'api')")] = None,
    api_url: Annotated[str | None, typer.Option(help="Partner API base URL (for 'api')")] = None,
) -> None:
    """When RULE would have fired over a file or the API's recent traffic: the alerts, how
    often per day, the accounts, and its value against the thresholds."""
    from detector.authoring import try_command

    text = _guarded(
        lambda: _all_rule_errors(lambda: try_command(rules, rule, source, since, config, api_url))
    )
    typer.echo(text)


@rules_app.command("test")
def rules_test(
    directory: Annotated[Path, typer.Argument(help="Rule directory with tests/")],
) -> None:
    """Run each rule's fixture tests (rules/tests/): CDRs in, expected findings out."""
    from detector.rules.testing import run_rule_tests

    report = _guarded(lambda: run_rule_tests(directory))
    typer.echo(report.render())
    if not report.ok:
        raise typer.Exit(1)


@rules_app.command("timezones")
def rules_timezones(
    config: Annotated[Path | None, typer.Option(help="YAML settings file (API)")] = None,
    api_url: Annotated[str | None, typer.Option(help="Partner API base URL")] = None,
    rules: Annotated[Path | None, typer.Option(help="Rule directory (its default zone)")] = None,
) -> None:
    """Print a `timezones:` map for _ruleset.yaml from the accounts' zones in GET /accounts."""
    from detector import assembly

    overrides = {"api.url": api_url} if api_url is not None else {}
    typer.echo(_guarded(lambda: assembly.account_zones(config, overrides, rules)), nl=False)
