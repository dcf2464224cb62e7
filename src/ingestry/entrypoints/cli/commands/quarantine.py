"""`ingestry quarantine list SOURCE`"""

from __future__ import annotations

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
