"""`ingestry status`: sources whose records an older extractor produced."""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@click.pass_obj
def command(ctx: CliContext, as_json: bool) -> None:
    """Per source: records by extractor version; stale ones need a replay."""
    statuses = ctx.store().extractor_status()
    broken = [s for s in statuses if s.error]
    if as_json:
        for status in statuses:
            echo_json(status.as_dict())
        if broken:
            raise click.exceptions.Exit(1)
        return
    stale = [s for s in statuses if s.stale]
    for s in statuses:
        if s.error:
            click.echo(f"{s.source} ({s.strategy}): extractor cannot be loaded", err=True)
            click.echo(f"    error: {s.error}", err=True)
            continue
        mark = "stale" if s.stale else "ok"
        click.echo(
            f"{s.source} ({s.strategy}): {s.records} records, extractor {s.current_version}: {mark}"
        )
        for version, count in sorted(s.versions.items()):
            if version != s.current_version:
                click.echo(f"    {count} made by {version}")
        if s.fix:
            click.echo(f"    fix: {s.fix}")
    if not stale and not broken:
        click.echo("every record was made by its source's current extractor")
    if broken:
        raise click.exceptions.Exit(1)
