"""`ingestry query "SQL" [--json | --csv] [--into SOURCE]`"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import dumps, table


@click.command("query")
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one row each.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option(
    "--into",
    "into",
    default=None,
    metavar="SOURCE",
    help="Ingest the rows (one JSON object each) into this simple json/jsonl source.",
)
@click.option(
    "--copy/--no-copy",
    "copy",
    default=False,
    envvar="INGESTRY_QUERY_COPY",
    help="Read each convention from its Parquet copy in data/query_copies/ (built, or "
    "rebuilt when the store changed, first). Env: INGESTRY_QUERY_COPY=1.",
)
@click.pass_obj
def command(
    ctx: CliContext, sql: str, as_json: bool, as_csv: bool, into: str | None, copy: bool
) -> None:
    """Read-only SQL (DuckDB) over one view per convention, named after it (srn,
    version, published_at, the declared columns, metadata as JSON text), and over
    Parquet or CSV files ('data/processed/*.parquet'). Exact decimals stay exact."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    store = ctx.store()
    if into is not None:
        from ingestry.entrypoints.cli.commands.ingest import render

        if as_csv:
            raise click.UsageError("--into prints the ingest summary (--json or text)")
        render(store.query_into(sql, into), as_json)
        return
    result = store.query_result(sql, copy=copy)
    if as_json:
        for row in result.rows:
            click.echo(dumps(dict(zip(result.columns, row, strict=True))))
    elif as_csv:
        import csv
        import sys

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_cell(v) for v in row] for row in result.rows)
    else:
        table(None, result.columns, ([_cell(v) for v in row] for row in result.rows))


def _cell(value: object) -> object:
    """A CSV/table cell: exact decimals in positional notation, times in ISO form."""
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None:
        return ""
    return value
