"""The state-file commands: `state inspect|export|reset|reset-model`.

They work on the SQLite state file directly and need no network. Registered on the main app by
`detector.cli`; errors become one line and an exit code through the CLI's guard.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

T = TypeVar("T")
state_app = typer.Typer(
    no_args_is_help=True,
    help="Inspect, export or reset the SQLite state file.",
    rich_markup_mode=None,
)
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `state` command group to `app`."""
    app.add_typer(state_app, name="state")


def _guarded(fn: Callable[[], T]) -> T:
    from detector.cli import _guard  # the CLI's one mapping of errors to exit codes

    return _guard(fn)


@state_app.command("reset-model")
def state_reset_model(
    state: Annotated[Path, typer.Option(help="SQLite state file")] = Path("state.sqlite"),
) -> None:
    """Drop the anomaly model's learned shared state (rules, alerts, cursor are kept).

    For a state file whose model state this release refuses (written by a newer release):
    the model then learns again from the next calls (its warm-up applies).
    """
    from detector.state.store import StateStore

    if not state.exists():
        err.print(f"[red]error:[/] no state file at {state}")
        raise typer.Exit(1)
    store = _guarded(lambda: StateStore(state))
    dropped = store.drop_model_state()
    store.close()
    typer.echo("model state dropped" if dropped else "no model state to drop")


@state_app.command("inspect")
def state_inspect(
    state: Annotated[Path, typer.Option(help="SQLite state file")] = Path("state.sqlite"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show cdrs_processed, the cursor, tracked accounts and the state's size."""
    from detector.state.store import StateStore

    if not state.exists():
        err.print(f"[red]error:[/] no state file at {state}")
        raise typer.Exit(1)
    info: dict[str, Any] = _guarded(lambda: StateStore(state).inspect())
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2, default=str) + "\n")
    else:
        for key, value in info.items():
            typer.echo(f"{key:18} {value}")


@state_app.command("export")
def state_export(
    state: Annotated[Path, typer.Option(metavar="FILE", help="SQLite state file")] = Path(
        "state.sqlite"
    ),
    out: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write here instead of stdout")
    ] = None,
) -> None:
    """Write the alerts, open findings, dead letters and cursor as JSON lines."""
    from detector.state.export import export_records
    from detector.state.store import StateStore

    def export() -> int:
        if not state.exists():
            from detector.errors import StateError

            raise StateError(f"no state file at {state}: check --state")
        store = StateStore(state)
        try:
            lines = [json.dumps(r, default=str, sort_keys=True) for r in export_records(store)]
        finally:
            store.close()
        text = "".join(line + "\n" for line in lines)
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text)
        return len(lines)

    count = _guarded(export)
    if out is not None:
        typer.echo(f"wrote {count} records to {out}", err=True)


@state_app.command("reset")
def state_reset(
    state: Annotated[Path, typer.Option(metavar="FILE", help="SQLite state file")] = Path(
        "state.sqlite"
    ),
    yes: Annotated[bool, typer.Option("--yes", help="Really delete it")] = False,
) -> None:
    """Delete the state file (cursor, windows, alerts, outbox); the daemon starts afresh."""
    from detector.errors import ConfigError
    from detector.state.export import reset

    def delete() -> list[Path]:
        if not yes:
            raise ConfigError(
                f"state reset deletes {state} and everything the daemon remembers: add --yes "
                "(run `cdr-detector state export` first to keep the alerts)"
            )
        return reset(state)

    for path in _guarded(delete):
        typer.echo(f"removed {path}")
