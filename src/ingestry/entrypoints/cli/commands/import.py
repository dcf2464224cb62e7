"""`ingestry import PATH [--as-import NODE] [--json]`"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("import")
@click.argument("path", type=click.Path())
@click.option(
    "--as-import",
    "as_import",
    default=None,
    metavar="NODE",
    help="Publish each record with import provenance (source_node NODE, the exporting "
    "store's id; id the original srn) instead of keeping its provenance.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(ctx: CliContext, path: str, as_import: str | None, as_json: bool) -> None:
    """Load a records export (the JSON Lines `export --format jsonl` or `records list
    --json` wrote, a file or its directory) into this store: srn, provenance, data
    source, columns and metadata kept (moving a store). Importing twice changes
    nothing. Exit 1 when a line could not be imported (each is listed)."""
    summary = ctx.store().import_export(path, as_import=as_import)
    values = summary.as_dict()
    if as_json:
        echo_json(values)
    else:
        click.echo(
            f"imported {summary.received} records from {path}: "
            f"{summary.records_created} created, {summary.records_updated} updated, "
            f"{summary.records_unchanged} unchanged, {summary.rejected} rejected "
            f"({summary.seconds}s)"
        )
    for error in summary.errors:
        click.echo(f"error: {error}", err=True)
    if summary.rejected:
        ctx_exit = click.get_current_context()
        ctx_exit.exit(1)
