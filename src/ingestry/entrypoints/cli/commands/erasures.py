"""`ingestry erasures [--srn SRN]`: the erasure audit (docs/erasure.md)"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json, table


@click.command("erasures")
@click.option("--srn", help="Only this record's erasures (found by the srn's digest).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one audit row each.")
@click.pass_obj
def command(ctx: CliContext, srn: str | None, limit: int, as_json: bool) -> None:
    """The erasure audit, newest first: who, when, why, and what as hashes."""
    rows = [a.to_dict() for a in ctx.store().erasures(srn, limit=limit)]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    if not rows:
        click.echo("no erasures")
        return
    columns = ["id", "at", "actor", "reason", "convention", "data_source", "srn_sha256"]
    table("erasures", columns, [[r[c] for c in columns] for r in rows])
