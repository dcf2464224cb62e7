"""`ingestry export (SOURCE | --convention C) --format jsonl|csv|parquet --out DIR`,
`ingestry export SOURCE --raw --out DIR`"""

from __future__ import annotations

from pathlib import Path

import click

from ingestry.domain.errors import QueryError
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json
from ingestry.entrypoints.cli.params import MOMENT


@click.command("export")
@click.argument("source", required=False)
@click.option("--convention", default=None, help="Export a whole convention (every source).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    default=None,
    help="Records as JSON Lines (default), CSV or Parquet.",
)
@click.option("--raw", is_flag=True, help="A raw bundle: every stored byte and receipt.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write into (default data/processed/).",
)
@click.option("--where", multiple=True, metavar="FILTER", help="As `records list --where`.")
@click.option("--since", default=None, help="Time column (raw: received_at) >= this.")
@click.option("--until", default=None, help="Time column (raw: received_at) < this.")
@click.option("--time-column", default=None, help="Column --since/--until filter.")
@click.option(
    "--current-only",
    is_flag=True,
    help="Each record's current version only (default: earlier versions too, oldest first).",
)
@click.option(
    "--include-deleted",
    is_flag=True,
    help="Soft-deleted records too, their tombstones marked `deleted`: `import` deletes them.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def command(
    ctx: CliContext,
    source: str | None,
    convention: str | None,
    fmt: str | None,
    raw: bool,
    out: Path | None,
    where: tuple[str, ...],
    since: str | None,
    until: str | None,
    time_column: str | None,
    current_only: bool,
    include_deleted: bool,
    as_json: bool,
) -> None:
    """Write records (filtered like `records list`) to one file named
    {source}_{entity}_{start}_{end}.{ext}, or with --raw a source's raw bundle."""
    if (source is None) == (convention is None):
        raise click.UsageError("give exactly one of SOURCE or --convention C")
    store = ctx.store()
    if raw:
        record_options = where or time_column or current_only or include_deleted
        if convention is not None or fmt is not None or record_options:
            raise click.UsageError("--raw takes SOURCE, --out, --since and --until only")
        assert source is not None
        summary = store.export_raw(
            source,
            out=out,
            since=MOMENT.convert(since, None, None) if since else None,
            until=MOMENT.convert(until, None, None) if until else None,
        ).as_dict()
    else:
        try:
            summary = store.export(
                source,
                convention=convention,
                format=fmt or "jsonl",
                out=out,
                where=where,
                since=since,
                until=until,
                time_column=time_column,
                current_only=current_only,
                include_deleted=include_deleted,
            ).as_dict()
        except QueryError as exc:
            raise click.UsageError(str(exc)) from None
    if as_json:
        echo_json(summary)
        return
    count = summary.get("records", summary.get("payloads"))
    click.echo(f"wrote {count} to {', '.join(summary['files'])}")
