"""`ingestry ingest SOURCE FILE…`"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from ingestry.domain.errors import StorageError
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json
from ingestry.entrypoints.cli.progress import ingest_progress

if TYPE_CHECKING:
    from ingestry.services.ingest import IngestSummary

CONTRACT_KEYS = (
    "source",
    "received",
    "raw_stored",
    "raw_duplicates",
    "records_created",
    "records_updated",
    "records_unchanged",
    "quarantined",
    "seconds",
    "duplicate_ids",
)


@click.command("ingest")
@click.argument("source")
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--strict", is_flag=True, help="Any bad row rolls the whole run back (exit 1).")
@click.pass_obj
def command(
    ctx: CliContext, source: str, files: tuple[str, ...], as_json: bool, strict: bool
) -> None:
    """Ingest FILES (`-` for stdin) into SOURCE: raw bytes kept, records upserted."""
    store = ctx.store()
    data_source = store.source(source)
    try:
        with ingest_progress(files, enabled=sys.stderr.isatty()) as progress:
            summary = store.ingest_files(data_source.name, files, strict=strict, progress=progress)
    except StorageError as exc:  # say which source's run failed (a script runs many)
        raise StorageError(f"ingest of {data_source.name} failed: {exc}") from exc
    render(summary, as_json)


def render(summary: IngestSummary, as_json: bool) -> None:
    values = summary.as_dict()
    if as_json:
        extra = {"inputs": values["inputs"]} if "inputs" in values else {}
        echo_json({k: values[k] for k in CONTRACT_KEYS} | {"run_srn": summary.run_srn} | extra)
    else:
        click.echo(describe(summary))
        if summary.duplicate_ids:
            click.echo(duplicates_warning(summary), err=True)
    warn_if_nothing_passed(summary)


def duplicates_warning(s: IngestSummary) -> str:
    return (
        f"warning: {s.source}: {s.duplicate_ids} ids occurred more than once; "
        "each is one record, from its last occurrence (every payload is kept raw)"
    )


def warn_if_nothing_passed(s: IngestSummary) -> None:
    """A run whose every payload went to quarantine exits 0 (the batch was taken), but
    it is almost always a file that does not fit the source: say so on stderr."""
    if s.received and s.quarantined >= s.received:
        click.echo(
            f"warning: {s.source}: every payload was quarantined ({s.quarantined} of "
            f"{s.received}); see `ingestry quarantine list {s.source}`",
            err=True,
        )


def describe(s: IngestSummary) -> str:
    """One line a person can read at a glance."""
    rate = f", {s.received / s.seconds:,.0f}/s" if s.seconds > 0 else ""
    raw = (
        f"raw {s.raw_stored} new + {s.raw_duplicates} duplicate; "
        if s.raw_stored or s.raw_duplicates
        else ""
    )
    return (
        f"{s.source}: {s.received} received; {raw}records {s.records_created} created, "
        f"{s.records_updated} updated, {s.records_unchanged} unchanged; "
        f"{s.quarantined} quarantined ({s.seconds:.3f}s{rate})"
    )
