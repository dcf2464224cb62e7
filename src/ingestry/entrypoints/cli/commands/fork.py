"""`ingestry fork --from URL --key KEY [--convention C] [--since T] [--json]`"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("fork")
@click.option("--from", "url", required=True, metavar="URL", help="The other node's API.")
@click.option(
    "--key",
    required=True,
    envvar="INGESTRY_FORK_KEY",
    metavar="KEY",
    help="An API key of the other node (or INGESTRY_FORK_KEY): its scope is what you get.",
)
@click.option("--convention", default=None, help="Only this convention (default: all).")
@click.option("--since", default=None, metavar="T", help="Only records updated at or after T.")
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=1000,
    show_default=True,
    help="Changes asked for per request (the remote answers at most 1,000).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def command(
    ctx: CliContext,
    url: str,
    key: str,
    convention: str | None,
    since: str | None,
    page_size: int,
    as_json: bool,
) -> None:
    """Copy another node's records here with fork provenance (source_node: its node id,
    id: its srn), reading its changes feed from where the last fork stopped. Forking
    again is all unchanged; a changed remote record becomes a new version here. Exit 1
    when a record could not be published (the next fork starts again at its page)."""
    summary = ctx.store().fork(url, key, convention=convention, since=since, page_size=page_size)
    if as_json:
        echo_json(summary.as_dict())
    else:
        click.echo(
            f"forked {summary.received} records from {summary.node_id} in {summary.pages} "
            f"pages: {summary.records_created} created, {summary.records_updated} updated, "
            f"{summary.records_unchanged} unchanged, {summary.records_deleted} deleted, "
            f"{summary.rejected} rejected "
            f"({summary.seconds}s)"
        )
    for error in summary.errors:
        click.echo(f"error: {error}", err=True)
    if summary.rejected:
        click.get_current_context().exit(1)
