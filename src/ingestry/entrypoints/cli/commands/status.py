"""`ingestry status`: sources whose records an older extractor produced."""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("status")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per source, each with the store's node_id (one object with "
    "node_id alone when no source is configured).",
)
@click.pass_obj
def command(ctx: CliContext, as_json: bool) -> None:
    """The store's node id; per source: records by extractor version (stale ones need a
    replay)."""
    node_id = ctx.store().node_id()
    statuses = ctx.store().extractor_status()
    broken = [s for s in statuses if s.error]
    if as_json:
        for status in statuses:
            echo_json({"node_id": node_id, **status.as_dict()})
        if not statuses:
            echo_json({"node_id": node_id})
        if broken:
            raise click.exceptions.Exit(1)
        return
    click.echo(f"node {node_id}")
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
