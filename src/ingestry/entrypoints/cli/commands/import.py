"""`ingestry import PATH [--as-import [NODE]] [--json]`"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json

#: `--as-import` without a value: the node each export file's manifest names
FROM_MANIFEST = "\0manifest"


@click.command("import")
@click.argument("path", type=click.Path(), required=False)
@click.option(
    "--as-import",
    "as_import",
    is_flag=False,
    flag_value=FROM_MANIFEST,
    default=None,
    metavar="[NODE]",
    help="Publish each record with import provenance (source_node: NODE, or without "
    "NODE the exporting store's node id from the export's manifest; id: the original "
    "srn) instead of keeping its provenance.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(ctx: CliContext, path: str | None, as_import: str | None, as_json: bool) -> None:
    """Load a records export (the JSON Lines `export --format jsonl` or `records list
    --json` wrote, a file or its directory) into this store: srn, provenance, data
    source, columns and metadata kept (moving a store). Importing twice changes
    nothing. Exit 1 when a line could not be imported (each is listed)."""
    path, node = _path_and_node(path, as_import)
    summary = ctx.store().import_export(path, as_import=node)
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


def _path_and_node(
    path: str | None, as_import: str | None
) -> tuple[str, str | Literal[True] | None]:
    """`import --as-import PATH` reads PATH as the option's value; with no PATH left
    and that value an existing path, it is the PATH and the node comes from the manifest."""
    if path is None and as_import not in (None, FROM_MANIFEST) and Path(str(as_import)).exists():
        return str(as_import), True
    if path is None:
        raise click.UsageError("Missing argument 'PATH'.")
    return path, True if as_import == FROM_MANIFEST else as_import
