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
@click.option(
    "--method",
    type=click.Choice(["auto", "pg_dump", "copy"]),
    default="auto",
    envvar="INGESTRY_BACKUP_METHOD",
    show_default=True,
    help="PostgreSQL: pg_dump, or ingestry's own COPY dump (auto: pg_dump when installed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(ctx: CliContext, out: Path, method: str, as_json: bool) -> None:
    """Back up the store while ingests keep running: one consistent snapshot, with a
    manifest (schema revision, row counts, content checksum, sha256 of every file)."""
    summary = ctx.store().backup(out, method=method)
    if as_json:
        echo_json(summary.as_dict())
        return
    content = summary.manifest.content.describe()
    click.echo(f"backed up {content} to {out} ({summary.bytes} bytes, {summary.seconds}s)")
