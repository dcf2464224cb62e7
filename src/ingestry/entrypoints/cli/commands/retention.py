"""`ingestry retention run [--dry-run] | audit`"""

from __future__ import annotations

import click

from ingestry.domain.retention import RetentionAuditEntry
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json, table


@click.group("retention")
def command() -> None:
    """Expire raw rows and pulled pages past their source's retention_days (audited)."""


@command.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; write nothing.")
@click.option("--actor", default="cli", show_default=True, help="Who runs it (audited).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@click.pass_obj
def run(ctx: CliContext, dry_run: bool, actor: str, as_json: bool) -> None:
    """Purge expired raw rows; never unextracted, quarantined or held ones."""
    reports = ctx.store().retention_run(dry_run=dry_run, actor=actor)
    if as_json:
        for report in reports:
            echo_json(report.as_dict())
        return
    if not reports:
        click.echo("no raw or pulled source has retention_days: nothing expires")
        return
    verb = "would purge" if dry_run else "purged"
    for r in reports:
        click.echo(
            f"{r.source}: {verb} {r.rows_purged} of {r.expired} rows received before "
            f"{r.cutoff.isoformat()} ({r.bytes_freed:,} bytes, {r.partitions_dropped} "
            f"partitions); kept {r.kept_unextracted} unextracted, {r.kept_quarantined} "
            f"quarantined, {r.kept_held} held"
            + (f"; {r.pages_purged} pages ({r.page_bytes_freed:,} bytes)" if r.pages_purged else "")
        )


@command.command("audit")
@click.argument("source", required=False)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def audit(ctx: CliContext, source: str | None, limit: int, as_json: bool) -> None:
    """What past retention runs purged, newest first."""
    entries = ctx.store().retention_audit(source, limit=limit)
    if as_json:
        for entry in entries:
            echo_json(entry.as_dict())
        return
    table(
        "retention audit",
        ["at", "source", "cutoff", "purged", "bytes", "partitions", "kept u/q/h", "pages", "actor"],
        [_row(e) for e in entries],
    )


def _row(e: RetentionAuditEntry) -> list[object]:
    return [
        e.at.isoformat(timespec="seconds"),
        e.source,
        e.cutoff.isoformat(timespec="seconds"),
        e.rows_purged,
        e.bytes_freed,
        e.partitions_dropped,
        f"{e.kept_unextracted}/{e.kept_quarantined}/{e.kept_held}",
        e.pages_purged,
        e.actor,
    ]
