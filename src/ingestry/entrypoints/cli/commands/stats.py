"""`ingestry stats [--every hour|day|week]`"""

from __future__ import annotations

import click

from ingestry.domain.errors import QueryError
from ingestry.domain.runs import STAT_COUNTS, Every
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import dumps, echo_json, table


@click.command("stats")
@click.option(
    "--every",
    type=click.Choice([e.value for e in Every]),
    default=None,
    help="Counts over time: one row per UTC bucket and source (ingest runs by start).",
)
@click.option("--source", default=None, help="With --every: only this source.")
@click.option("--since", default=None, help="With --every: runs started at or after this.")
@click.option("--json", "as_json", is_flag=True, help="JSON (with --every: JSON Lines).")
@click.pass_obj
def command(
    ctx: CliContext, every: str | None, source: str | None, since: str | None, as_json: bool
) -> None:
    """Per source: raw rows, records and open quarantine entries; with --every, what
    was received and what it did, per hour, day or week."""
    if every is None:
        if source is not None or since is not None:
            raise click.UsageError("--source and --since go with --every")
        _totals(ctx, as_json)
        return
    try:
        buckets = ctx.store().stats_over_time(every, source, since)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        for bucket in buckets:
            click.echo(dumps(bucket.as_dict()))
        return
    table(
        f"stats per {every}",
        ["bucket", "source", *STAT_COUNTS, "runs", "seconds"],
        [list(b.as_dict().values()) for b in buckets],
    )


def _totals(ctx: CliContext, as_json: bool) -> None:
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
