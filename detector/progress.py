"""`cdr-detector backfill`: history through the live path, with a progress bar."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from detector.service import Service
from detector.source.poller import Poller


def backfill_with_progress(
    service: Service, poller: Poller, start: date, end: date, account: str | None
) -> int:
    """Page `start`..`end` (optionally one account) through the detector; return CDRs fed."""
    console = Console(stderr=True)
    fed = 0
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"backfilling {start}..{end}", total=None)
        for result in poller.backfill(start, end, account, seen=service.store.seen):
            service.apply(result, service.clock(), tailing=False)
            fed += len(result.cdrs)
            bar.update(task, description=f"backfilling {start}..{end}: {fed:,} CDRs")
    service.deliver_pending()
    console.print(f"backfill done: {fed:,} CDRs from {start} to {end}")
    return fed
