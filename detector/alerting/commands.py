"""The alerting commands: `silence add|ls|expire` and `outbox retry|ls`.

They work on the state file directly (the running daemon reads silences on every round of its
notification stage, within a second; SQLite's WAL lets both write safely), so they need no
network and no token. Registered on the main app by `detector.cli`; errors become one line and
an exit code through the CLI's guard.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")
silence_app = typer.Typer(no_args_is_help=True, help="Mute alerts by label for a while.")
outbox_app = typer.Typer(no_args_is_help=True, help="Notifications waiting or dead-lettered.")

State = Annotated[Path, typer.Option(help="SQLite state file")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _guarded(fn: Callable[[], T]) -> T:
    from detector.cli import _guard  # the CLI's one mapping of errors to exit codes

    return _guard(fn)


def _existing(state: Path) -> Path:
    from detector.errors import ConfigError

    if not state.exists():
        raise ConfigError(f"no state file at {state}: pass --state with the daemon's state.path")
    return state


def silence_add(
    matchers: Annotated[
        list[str], typer.Argument(help="name=value, name!=value, name=~regex, name!~regex")
    ],
    duration: Annotated[str, typer.Option(help="How long, e.g. 2h, 30m, 1d")] = "2h",
    comment: Annotated[str, typer.Option(help="Why (shown with the silence)")] = "",
    author: Annotated[str, typer.Option(help="Who")] = "",
    state: State = Path("state.sqlite"),
) -> None:
    """Silence alerts whose labels (rule, account, severity, any rule label) match them all."""
    from detector.alerting.silences import from_request
    from detector.errors import ConfigError

    def add() -> dict[str, Any]:
        body = {"matchers": matchers, "duration": duration, "comment": comment,
                "created_by": author}  # fmt: skip
        try:
            silence = from_request(body, time.time()).to_json()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        _book(state).add(silence)
        return silence

    silence = _guarded(add)
    typer.echo(
        f"{silence['id']}  until {_iso(silence['ends_at'])}  {', '.join(silence['matchers'])}"
    )


def silence_ls(
    state: State = Path("state.sqlite"),
    all_: Annotated[bool, typer.Option("--all", help="Include ended silences")] = False,
    as_json: AsJson = False,
) -> None:
    """List silences (active ones unless --all)."""
    found = _guarded(lambda: _book(state).active(time.time(), include_ended=all_))
    if as_json:
        sys.stdout.write(json.dumps(found, indent=2) + "\n")
        return
    for s in found:
        typer.echo(f"{s['id']}  {_iso(s['starts_at'])} → {_iso(s['ends_at'])}  "
                   f"{', '.join(s['matchers'])}  {s.get('comment', '')}")  # fmt: skip


def silence_expire(
    silence_id: Annotated[str, typer.Argument(metavar="ID", help="The silence's id")],
    state: State = Path("state.sqlite"),
) -> None:
    """End a silence now."""
    from detector.errors import ConfigError

    def expire() -> None:
        if not _book(state).expire(silence_id, time.time()):
            raise ConfigError(f"no active silence {silence_id!r} (see `cdr-detector silence ls`)")

    _guarded(expire)
    typer.echo(f"expired {silence_id}")


def outbox_retry(
    receiver: Annotated[str | None, typer.Option(help="Only this receiver's")] = None,
    state: State = Path("state.sqlite"),
) -> None:
    """Re-queue dead-lettered notifications: the daemon sends them again at once."""
    from detector.state.outbox import Outbox

    def retry() -> int:
        with Outbox(_existing(state)) as box:
            return box.requeue_dead(time.time(), receiver)

    count = _guarded(retry)
    typer.echo(f"re-queued {count} dead letter{'s' * (count != 1)}")


def outbox_ls(state: State = Path("state.sqlite"), as_json: AsJson = False) -> None:
    """Show pending and dead-lettered notifications per receiver, and the newest dead letters."""
    from detector.state.outbox import Outbox

    def read() -> dict[str, Any]:
        with Outbox(_existing(state)) as box:
            letters = box.dead_letters(20)
            return {"pending": box.pending(), "dead": box.dead(), "dead_letters": letters}

    info = _guarded(read)
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    typer.echo(f"pending {info['pending']}  dead {info['dead']}")
    for d in info["dead_letters"]:
        typer.echo(f"{_iso(d['at'])}  {d['receiver']}  {d['delivery_id']}  {d['error']}")


def _book(state: Path) -> Any:
    from detector.state.notifications import SilenceBook

    return SilenceBook(_existing(state))


def _iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def register(app: typer.Typer) -> None:
    """Add the `silence` and `outbox` groups to the main app."""
    silence_app.command("add")(silence_add)
    silence_app.command("ls")(silence_ls)
    silence_app.command("expire")(silence_expire)
    outbox_app.command("retry")(outbox_retry)
    outbox_app.command("ls")(outbox_ls)
    app.add_typer(silence_app, name="silence")
    app.add_typer(outbox_app, name="outbox")
