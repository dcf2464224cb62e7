"""`ingestry backup --out PATH [--json]`"""

from __future__ import annotations

from pathlib import Path

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write: a PATH ending in .tar is one file, any other a new directory.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(ctx: CliContext, out: Path, as_json: bool) -> None:
    """Back up the store while ingests keep running: one consistent snapshot, with a
    manifest (schema revision, row counts, content checksum, sha256 of every file)."""
    summary = ctx.store().backup(out)
    if as_json:
        echo_json(summary.as_dict())
        return
    rows = sum(summary.manifest.content.tables.values())
    click.echo(f"backed up {rows} rows to {out} ({summary.bytes} bytes, {summary.seconds}s)")
