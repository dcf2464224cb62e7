"""`ingestry replay SOURCE [--entity E] [--since T] [--until T] [--extractor-version V]`"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json
from ingestry.entrypoints.cli.params import MOMENT
from ingestry.entrypoints.cli.progress import rows_progress

if TYPE_CHECKING:
    from ingestry.services.replay import ReplaySummary

CONTRACT_KEYS = (
    "scanned",
    "records_created",
    "records_updated",
    "records_unchanged",
    "quarantined",
    "released_from_quarantine",
)


@click.command("replay")
@click.argument("source")
@click.option("--entity", help="Only payloads of this entity type.")
@click.option("--since", type=MOMENT, help="Only payloads received at or after this time.")
@click.option("--until", type=MOMENT, help="Only payloads received before this time.")
@click.option("--extractor-version", help="Only payloads last extracted by this version.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(
    ctx: CliContext,
    source: str,
    entity: str | None,
    since: datetime | None,
    until: datetime | None,
    extractor_version: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Re-extract SOURCE's raw payloads with its current extractor, idempotently."""
    store = ctx.store()
    store.source(source)
    with rows_progress("replay", enabled=sys.stderr.isatty()) as progress:
        summary = store.replay(
            source,
            entity=entity,
            since=since,
            until=until,
            extractor_version=extractor_version,
            dry_run=dry_run,
            progress=progress,
        )
    render(summary, as_json)


def render(summary: ReplaySummary, as_json: bool) -> None:
    values = summary.as_dict()
    if as_json:
        echo_json(values)
        return
    dry = " (dry run: nothing written)" if summary.dry_run else ""
    click.echo(
        f"{summary.source}: {summary.scanned} scanned; records {summary.records_created} "
        f"created, {summary.records_updated} updated, {summary.records_unchanged} unchanged; "
        f"{summary.quarantined} quarantined, {summary.released_from_quarantine} released "
        f"from quarantine; extractor {summary.extractor_version} ({summary.seconds:.3f}s){dry}"
    )
