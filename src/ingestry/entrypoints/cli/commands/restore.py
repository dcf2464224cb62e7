"""`ingestry restore PATH [--replace] [--json]`"""

from __future__ import annotations

from pathlib import Path

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a store that already holds data.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(ctx: CliContext, path: Path, replace: bool, as_json: bool) -> None:
    """Restore a backup into the configured store, after checking every file's sha256
    and the schema revision; the restored content is compared with the manifest.
    Stop the API and workers first."""
    summary = ctx.store().restore(path, replace=replace)
    if as_json:
        echo_json(summary.as_dict())
        return
    rows = sum(summary.manifest.content.tables.values())
    click.echo(f"restored {rows} rows from {path} ({summary.seconds}s)")
