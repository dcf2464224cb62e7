"""`ingestry quarantine list|show|replay|discard`"""

from __future__ import annotations

import sys

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.group("quarantine")
def command() -> None:
    """Payloads that failed extraction, with line and reason."""


@command.command("list")
@click.argument("source")
@click.option(
    "--status", type=click.Choice(["open", "released", "discarded", "all"]), default="open"
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_quarantine(ctx: CliContext, source: str, status: str, as_json: bool) -> None:
    """List quarantined payloads of SOURCE."""
    entries = ctx.store().quarantine(source, None if status == "all" else status)
    rows = [
        {
            "id": e.id,
            "origin": e.origin,
            "line": e.line,
            "reason": e.reason,
            "received_at": e.received_at.isoformat(),
            "status": e.status,
            "sha256": e.sha256,
            "payload": e.payload.decode("utf-8", "backslashreplace"),
        }
        for e in entries
    ]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    if not rows:
        click.echo(f"quarantine of {source} ({status}): empty")
        return
    click.echo(f"quarantine of {source} ({status}): {len(rows)}")
    for r in rows:
        click.echo(f"  #{r['id']} {r['origin']}:{r['line']}  {r['reason']}")


@command.command("show")
@click.argument("entry_id", type=int)
@click.option(
    "--bytes", "as_bytes", is_flag=True, help="Write the payload's exact bytes to stdout."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(ctx: CliContext, entry_id: int, as_bytes: bool, as_json: bool) -> None:
    """One quarantine entry: reason, line, origin, bytes, arrival and decision."""
    detail = ctx.store().quarantine_entry(entry_id)
    entry = detail.entry
    payload = entry.payload or detail.raw_payload or b""
    if as_bytes:
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return
    row = {
        "id": entry.id,
        "source": entry.source,
        "status": entry.status,
        "reason": entry.reason,
        "origin": entry.origin,
        "line": entry.line,
        "received_at": entry.received_at.isoformat(),
        "sha256": entry.sha256,
        "bytes": len(payload),
        "payload": payload.decode("utf-8", "backslashreplace"),
        "resolved_at": detail.resolved_at.isoformat() if detail.resolved_at else None,
        "resolution": detail.resolution,
        "resolved_by": detail.resolved_by,
    }
    if as_json:
        echo_json(row)
        return
    for key, value in row.items():
        click.echo(f"{key:>12}: {'' if value is None else value}")


@command.command("replay")
@click.argument("source")
@click.argument("ids", nargs=-1, type=int)
@click.option("--dry-run", is_flag=True, help="Report what would be released; write nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def replay(
    ctx: CliContext, source: str, ids: tuple[int, ...], dry_run: bool, as_json: bool
) -> None:
    """Extract SOURCE's open entries (or IDS) again; release those that pass now."""
    summary = ctx.store().quarantine_replay(source, list(ids) or None, dry_run=dry_run)
    if as_json:
        echo_json(summary.as_dict())
        return
    dry = " (dry run: nothing written)" if dry_run else ""
    click.echo(
        f"{source}: {summary.scanned} retried; {summary.released_from_quarantine} released, "
        f"{summary.quarantined} still failing; records {summary.records_created} created, "
        f"{summary.records_updated} updated, {summary.records_unchanged} unchanged{dry}"
    )


@command.command("discard")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--reason", required=True, help="Why (kept with the decision).")
@click.option("--actor", default="cli", show_default=True, help="Who decides (kept).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def discard(ctx: CliContext, ids: tuple[int, ...], reason: str, actor: str, as_json: bool) -> None:
    """Discard open entries IDS for a reason; who, when and why are recorded."""
    done = ctx.store().quarantine_discard(list(ids), reason=reason, actor=actor)
    if as_json:
        echo_json({"discarded": done, "reason": reason, "actor": actor})
        return
    click.echo(f"discarded {len(done)}: {', '.join(f'#{i}' for i in done)} ({reason})")
