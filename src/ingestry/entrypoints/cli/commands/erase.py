"""`ingestry erase (SRN | --source S --id ID) --reason R [--by WHO]` (docs/erasure.md)"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.command("erase")
@click.argument("srn", required=False)
@click.option("--source", help="The data source the record came from (with --id).")
@click.option("--id", "source_id", help="The record's id as read from the data (with --source).")
@click.option("--reason", required=True, help="Why (kept in the audit: e.g. 'GDPR art. 17').")
@click.option("--by", "actor", default="cli", show_default=True, help="Who asks (kept).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def command(
    ctx: CliContext,
    srn: str | None,
    source: str | None,
    source_id: str | None,
    reason: str,
    actor: str,
    as_json: bool,
) -> None:
    """Erase a record for good: every version, its events and features, and the raw
    payloads of its id, with an audit row of hashes. A legal hold refuses it (exit 1)."""
    if (srn is None) == (source is None or source_id is None):
        raise click.UsageError("give an SRN, or --source and --id (not both)")
    report = ctx.store().erase(srn, source=source, source_id=source_id, reason=reason, actor=actor)
    found = report.to_dict()
    if as_json:
        echo_json(found)
        return
    click.echo(
        f"erased {report.srn}: {found['versions'] + found['records']} version(s), "
        f"{found['raw_payloads']} raw payload(s), {found['events']} event(s)"
        + (f", {found['harvest_pages']} page(s) emptied" if found["harvest_pages"] else "")
        + f"; audit #{found['audit_id']}"
    )
