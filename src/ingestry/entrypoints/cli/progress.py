"""A rich progress bar over bytes read, shown only on a terminal (rich is imported
only then: a piped or scripted run never loads it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingestry.services.preparation import ProgressFn


@contextmanager
def ingest_progress(files: tuple[str, ...], *, enabled: bool) -> Iterator[ProgressFn | None]:
    if not enabled:
        yield None
        return
    total = 0
    for name in files:
        if name == "-":
            total = 0
            break
        with suppress(OSError):
            total += Path(name).stat().st_size
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingest", total=total or None, rows=0)

        def update(consumed: int, rows: int) -> None:
            bar.update(task, completed=consumed, rows=rows)

        yield update


@contextmanager
def rows_progress(label: str, *, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A bar over rows (replay: rows scanned of the rows in the window)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update
