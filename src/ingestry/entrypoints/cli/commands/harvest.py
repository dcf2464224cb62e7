"""`ingestry harvest SOURCE`"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json

if TYPE_CHECKING:
    from ingestry.services.harvest import HarvestSummary

HARVEST_KEYS = (
    "pages", "requests", "retries", "bytes", "not_modified", "cursor", "parents_missing",
)  # fmt: skip


@click.command("harvest")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(ctx: CliContext, source: str, as_json: bool) -> None:
    """Pull SOURCE's HTTP API (its pull: settings): every page kept, items as records."""
    from ingestry.entrypoints.cli.commands.ingest import CONTRACT_KEYS, describe

    store = ctx.store()
    with harvest_progress(enabled=sys.stderr.isatty()) as progress:
        summary = store.harvest(store.source(source).name, progress=progress)
    if as_json:
        values = summary.as_dict()
        keys = (*CONTRACT_KEYS, *HARVEST_KEYS)
        echo_json({k: values[k] for k in keys} | {"run_srn": summary.run_srn})
        return
    click.echo(f"{describe(summary)}; {pages_line(summary)}")


def pages_line(s: HarvestSummary) -> str:
    gone = f", {s.parents_missing} parents gone upstream (404)" if s.parents_missing else ""
    return (
        f"{s.pages} pages ({s.not_modified} not modified), {s.requests} requests, "
        f"{s.retries} retries, {s.bytes:,} bytes{gone}"
    )


@contextmanager
def harvest_progress(*, enabled: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """Pages, items and their rate on stderr (a terminal only; rich imported then)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    columns = [SpinnerColumn(), TextColumn("[bold]harvest[/] {task.fields[line]}")]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("harvest", total=None, line="")
        started = time.monotonic()

        def update(pages: int, items: int, requests: int) -> None:
            rate = items / max(time.monotonic() - started, 1e-6)
            line = f"{pages:,} pages, {items:,} items ({rate:,.0f}/s), {requests:,} requests"
            bar.update(task, line=line)

        yield update
