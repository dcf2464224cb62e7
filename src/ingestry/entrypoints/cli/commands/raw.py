"""`ingestry raw show SOURCE SOURCE_ID [--bytes]`"""

from __future__ import annotations

import sys

import click

from ingestry.domain.errors import RecordNotFoundError
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json, table


@click.group("raw")
def command() -> None:
    """The raw store: exact bytes as received."""


@command.command("show")
@click.argument("source")
@click.argument("source_id")
@click.option(
    "--bytes", "as_bytes", is_flag=True, help="Write the latest stored bytes, exactly, to stdout."
)
@click.option(
    "--all",
    "all_versions",
    is_flag=True,
    help="With --bytes: every stored payload, newline-separated.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(
    ctx: CliContext, source: str, source_id: str, as_bytes: bool, all_versions: bool, as_json: bool
) -> None:
    """Raw payloads received for SOURCE_ID, oldest first."""
    payloads = ctx.store().raw(source, source_id)
    if not payloads:
        raise RecordNotFoundError(f"no raw payload for {source} {source_id}")
    if as_bytes:
        out = sys.stdout.buffer
        chosen = payloads if all_versions else payloads[-1:]
        out.write(b"\n".join(p.payload for p in chosen))
        out.flush()
        return
    rows = [
        {
            "id": p.id,
            "sha256": p.sha256,
            "entity_type": p.entity_type,
            "received_at": p.received_at.isoformat(),
            "processed_at": p.processed_at.isoformat() if p.processed_at else None,
            "extractor_version": p.extractor_version,
            "error": p.error,
            "origin": p.origin,
            "line": p.line,
            "bytes": len(p.payload),
        }
        for p in payloads
    ]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    table(f"{source} {source_id}", list(rows[0]), [list(r.values()) for r in rows])
