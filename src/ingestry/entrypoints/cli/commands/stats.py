"""`ingestry stats`"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json, table


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: source → counts.")
@click.pass_obj
def command(ctx: CliContext, as_json: bool) -> None:
    """Per source: raw rows, records and open quarantine entries."""
    stats = ctx.store().stats()
    if as_json:
        echo_json(stats)
        return
    table(
        "stats",
        ["source", "raw_rows", "records", "quarantined"],
        [
            [name, s["raw_rows"], s["records"], s["quarantined"]]
            for name, s in sorted(stats.items())
        ],
    )
