"""`ingestry verify PATH [--json]`: exit 0 only when the backup matches its manifest."""

from __future__ import annotations

from pathlib import Path

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_obj
def command(ctx: CliContext, path: Path, as_json: bool) -> None:
    """Check a backup: the sha256 of every file, then a restore into a scratch store
    compared with the manifest's row counts and content checksum. Exit 1 on any
    difference (each is listed)."""
    summary = ctx.store().verify_backup(path)
    if as_json:
        echo_json(summary.as_dict())
    elif summary.ok:
        click.echo(f"{path}: ok ({summary.manifest.created_at}, {summary.seconds}s)")
    for problem in summary.problems:
        click.echo(f"error: {path}: {problem}", err=True)
    if not summary.ok:
        click.get_current_context().exit(1)
