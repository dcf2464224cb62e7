"""`ingestry records list|get|history|delete`"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from ingestry.domain.errors import InvalidCursorError, QueryError
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import dumps, echo_json, echo_record, table

if TYPE_CHECKING:
    from ingestry.services.deletion import DeleteReport


@click.group("records")
def command() -> None:
    """Typed records: list, get, history, features, delete."""


@command.command("list")
@click.option("--convention", required=True, help="Convention whose records to list.")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="FILTER",
    help="Filter on a declared column: COL=V, COL!=V, COL<V, COL<=V, COL>V, COL>=V, "
    "'COL in A,B'. Repeat to AND them.",
)
@click.option("--since", default=None, help="Time column >= this ISO timestamp or date.")
@click.option("--until", default=None, help="Time column < this ISO timestamp or date.")
@click.option(
    "--time-column",
    default=None,
    help="Column --since/--until filter (default: the first required timestamp column).",
)
@click.option(
    "--bbox",
    default=None,
    metavar="MINX,MINY,MAXX,MAXY",
    help="Keep records whose geometry intersects this box (touching counts).",
)
@click.option(
    "--geometry-column",
    default=None,
    metavar="COL",
    help="Geometry column --bbox tests (default: the convention's only one).",
)
@click.option("--sort", default=None, metavar="COL", help="Sort by a declared column.")
@click.option("--desc", is_flag=True, help="With --sort: largest first (empty values last).")
@click.option("--count", "count_only", is_flag=True, help='Print {"count": N} only.')
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most N records.")
@click.option("--after", default=None, help="Start after this srn (keyset pagination).")
@click.option(
    "--include-deleted", is_flag=True, help="Soft-deleted records too (their tombstones)."
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one record each.")
@click.pass_obj
def list_records(
    ctx: CliContext,
    convention: str,
    where: tuple[str, ...],
    since: str | None,
    until: str | None,
    time_column: str | None,
    bbox: str | None,
    geometry_column: str | None,
    sort: str | None,
    desc: bool,
    count_only: bool,
    limit: int | None,
    after: str | None,
    include_deleted: bool,
    as_json: bool,
) -> None:
    """List records of a convention in srn order, or filtered and sorted by their
    declared columns."""
    if desc and sort is None:
        raise click.UsageError("--desc needs --sort COL")
    store = ctx.store()
    try:
        if count_only:
            found = store.count(
                convention,
                where=where,
                since=since,
                until=until,
                time_column=time_column,
                bbox=bbox,
                geometry_column=geometry_column,
            )
            click.echo(dumps({"count": found}))
            return
        records = store.records(
            convention,
            limit=limit,
            after=after,
            where=where,
            since=since,
            until=until,
            time_column=time_column,
            bbox=bbox,
            geometry_column=geometry_column,
            sort=sort,
            desc=desc,
            include_deleted=include_deleted,
        )
    except InvalidCursorError as exc:
        raise click.BadParameter(str(exc), param_hint="'--after'") from None
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        for record in records:
            echo_record(record)
        return
    table(
        f"records ({convention})",
        ["srn", "source", "version", "updated_at", "columns"],
        [
            [
                r.srn,
                f"{r.source.type}:{r.source.id}",
                r.version,
                r.updated_at.isoformat(timespec="seconds"),
                ", ".join(f"{k}={v}" for k, v in r.columns.items()),
            ]
            for r in records
        ],
    )


@command.command("get")
@click.argument("srn")
@click.option(
    "--include-deleted", is_flag=True, help="A deleted record: print its tombstone version."
)
@click.pass_obj
def get_record(ctx: CliContext, srn: str, include_deleted: bool) -> None:
    """Print one record as JSON."""
    echo_record(ctx.store().get(srn, include_deleted=include_deleted))


@command.command("delete")
@click.argument("srns", metavar="[SRN]...", nargs=-1)
@click.option("--convention", default=None, help="Delete the records of C that match:")
@click.option("--where", "where", multiple=True, metavar="FILTER", help="As `records list`.")
@click.option("--since", default=None, help="As `records list`.")
@click.option("--until", default=None, help="As `records list`.")
@click.option("--time-column", default=None, help="As `records list`.")
@click.option("--reason", default=None, help="Why (kept with the tombstone version).")
@click.option("--by", "actor", default="cli", show_default=True, help="Who deletes (kept).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one result per srn.")
@click.pass_obj
def delete_records(
    ctx: CliContext,
    srns: tuple[str, ...],
    convention: str | None,
    where: tuple[str, ...],
    since: str | None,
    until: str | None,
    time_column: str | None,
    reason: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Soft-delete records (by srn, or `--convention C` with filters): each gets a
    tombstone version and leaves lists, counts, exports and queries; history keeps
    every version. Deleting a deleted record is a no-op. `ingestry erase` removes a
    record for good (docs/deleting.md)."""
    if bool(srns) == (convention is not None):
        raise click.UsageError("give SRNs, or --convention with --where/--since/--until")
    store = ctx.store()
    if convention is None:
        reports: Iterable[DeleteReport] = (
            store.delete(srn, reason=reason, actor=actor) for srn in srns
        )
    else:
        try:
            reports = store.delete_matching(
                convention, where=where, since=since, until=until,
                time_column=time_column, reason=reason, actor=actor,
            )  # fmt: skip
        except QueryError as exc:
            raise click.UsageError(str(exc)) from None
    for report in reports:
        srn = report.srn
        if as_json:
            echo_json(report.to_dict())
        else:
            d = report.deletion
            click.echo(f"{srn}: {report.to_dict()['status']} (version {d.version})")


@command.command("history")
@click.argument("srn")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(ctx: CliContext, srn: str, as_json: bool) -> None:
    """Every version of a record, oldest first."""
    versions = ctx.store().history(srn)
    if as_json:
        for record in versions:
            echo_record(record)
        return
    table(
        srn,
        ["version", "since", "extractor", "columns"],
        [
            [
                r.version,
                r.updated_at.isoformat(timespec="seconds"),
                r.extractor_version,
                ", ".join(f"{k}={v}" for k, v in r.columns.items()),
            ]
            for r in versions
        ],
    )


@command.command("features")
@click.argument("srn")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one feature each.")
@click.pass_obj
def features(ctx: CliContext, srn: str, as_json: bool) -> None:
    """What hooks produced for a record, every version."""
    found = ctx.store().features(srn)
    if as_json:
        for feature in found:
            echo_json(feature.as_dict())
        return
    if not found:
        click.echo(f"{srn}: no features (yet: `ingestry events dispatch` runs the hooks)")
        return
    click.echo(f"{srn}: {len(found)} features")
    for f in found:
        click.echo(f"  v{f.record_version} {f.hook}/{f.name} = {dumps(f.value)}")
