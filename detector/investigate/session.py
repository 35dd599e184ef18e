"""An investigation's connection: the daemon's settings, its API client and a `Reader`.

The commands take the same `--config FILE` and `--api-url URL` as `run` and read the same
credentials (`CDR_DETECTOR_AUTH_ID` / `CDR_DETECTOR_AUTH_TOKEN`), so they see the API exactly
as the daemon does: its request rate (`api.rate_per_s`), retries, page size, date-filter
timezone (`poll.date_tz`), mode (`poll.mode`, or `--mode`) and trunk → account map.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from detector.assembly import build_api
from detector.config import Settings, load_settings
from detector.investigate.reader import Days, Reader
from detector.metrics import Metrics
from detector.source.accounts import trunk_normalizer
from detector.source.client import CdrApi
from detector.source.normalize import normalize


@dataclass(frozen=True, slots=True)
class Where:
    """The command-line options every investigation command shares."""

    config: Path | None = None
    api_url: str | None = None
    mode: str | None = None

    def settings(self) -> Settings:
        """The validated settings with `--api-url` and `--mode` applied."""
        overrides: dict[str, Any] = {}
        if self.api_url is not None:
            overrides["api.url"] = self.api_url
        if self.mode is not None:
            overrides["poll.mode"] = self.mode.replace("-", "_")
        return load_settings(self.config, overrides)


@dataclass(slots=True)
class Session:
    """Settings, a reader over the API, and where progress goes."""

    settings: Settings
    reader: Reader
    console: Console

    def today(self) -> date:
        """Today in the API's date-filter timezone."""
        return datetime.now(UTC).astimezone(ZoneInfo(self.settings.poll.date_tz)).date()


def over(api: CdrApi, settings: Settings) -> Session:
    """A session reading through `api` as `settings` say (mode, page size, trunk map)."""
    trunks = settings.poll.trunk_accounts
    reader = Reader(
        api,
        trunk_normalizer(normalize, trunks) if trunks else normalize,
        per_account=settings.poll.mode == "per_account",
        per_page=settings.poll.per_page,
    )
    return Session(settings, reader, Console(stderr=True, highlight=False))


@contextmanager
def session(where: Where) -> Iterator[Session]:
    """Open the API client for one command and close it afterwards."""
    settings = where.settings()
    api = build_api(settings, Metrics(account_cap=0))
    try:
        yield over(api, settings)
    finally:
        api.close()


@contextmanager
def day_progress(current: Session, days: Days, what: str = "reading") -> Iterator[None]:
    """A progress bar on stderr (a terminal only) over the days of `days` while reading them."""
    if not sys.stderr.isatty():
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("days · {task.fields[rows]:,} calls"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=current.console, transient=True) as bar:
        task = bar.add_task(what, total=len(days), rows=0)
        done: set[date] = set()
        rows = [0]

        def on_page(day: date, count: int) -> None:
            done.add(day)
            rows[0] += count
            bar.update(task, completed=len(done) - 1, description=f"{what} {day}", rows=rows[0])

        current.reader.on_page = on_page
        try:
            yield
        finally:
            current.reader.on_page = None
