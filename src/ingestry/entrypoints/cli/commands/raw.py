"""`ingestry raw show SOURCE SOURCE_ID [--bytes]`, `raw hold|holds|release`, and a
pulled source's kept pages: `raw pages SOURCE`, `raw page ID [--bytes]`"""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from ingestry.domain.errors import RecordNotFoundError
from ingestry.domain.retention import RawHold
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json, table
from ingestry.entrypoints.cli.params import MOMENT

if TYPE_CHECKING:
    from ingestry.services.ports.harvest import StoredPage


@click.group("raw")
def command() -> None:
    """The raw store: exact bytes as received."""


@command.command("show")
@click.argument("source")
@click.argument("source_id")
@click.option(
    "--bytes", "as_bytes", is_flag=True, help="Write the bytes received last, exactly, to stdout."
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
    """Raw payloads received for SOURCE_ID, ordered by their latest receipt: the last
    one (what --bytes writes) is the payload received last, which drives the record."""
    store = ctx.store()
    payloads = store.raw(source, source_id)
    if not payloads:
        page = store.page_of(source, source_id)  # a simple pulled source: the whole page
        if page is None:
            raise RecordNotFoundError(f"no raw payload for {source} {source_id}")
        _page_out(page, as_bytes, as_json, f"{source} {source_id}: no raw payload (simple); ")
        return
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
            "receipts": p.receipts,
            "last_received_at": p.last_received_at.isoformat() if p.last_received_at else None,
            "last_run": p.last_run_srn,
            "last_origin": p.last_origin,
            "last_line": p.last_line,
        }
        for p in payloads
    ]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    # one block per payload (16 fields do not fit a table's width); the last one drives
    # the record
    click.echo(f"{source} {source_id}: {len(rows)} payload(s), the last received last")
    for row in rows:
        click.echo(f"payload {row['id']}")
        for key, value in row.items():
            if key != "id":
                click.echo(f"  {key}: {'' if value is None else value}")


def _hold_json(hold: RawHold) -> dict[str, object]:
    return {
        "id": hold.id,
        "source": hold.source,
        "source_id": hold.source_id,
        "reason": hold.reason,
        "held_until": hold.held_until.isoformat() if hold.held_until else None,
        "created_at": hold.created_at.isoformat(),
        "created_by": hold.created_by,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
        "released_by": hold.released_by,
    }


@command.command("hold")
@click.argument("source")
@click.option("--id", "source_id", help="Hold only this source id's payloads.")
@click.option("--until", type=MOMENT, help="The hold ends at this time (default: released).")
@click.option("--reason", help="Why (legal hold, audit, …).")
@click.option("--actor", default="cli", show_default=True, help="Who places it (kept).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def hold(
    ctx: CliContext,
    source: str,
    source_id: str | None,
    until: datetime | None,
    reason: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Keep SOURCE's raw rows from retention until released (or --until)."""
    placed = ctx.store().raw_hold(
        source, source_id=source_id, until=until, reason=reason, actor=actor
    )
    if as_json:
        echo_json(_hold_json(placed))
        return
    scope = f" {source_id}" if source_id else ""
    ends = f" until {placed.held_until.isoformat()}" if placed.held_until else ""
    click.echo(f"hold #{placed.id} on {source}{scope}{ends}")


@command.command("holds")
@click.argument("source", required=False)
@click.option("--active", is_flag=True, help="Only holds in force now.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def holds(ctx: CliContext, source: str | None, active: bool, as_json: bool) -> None:
    """Raw holds, oldest first."""
    found = ctx.store().raw_holds(source, active=active)
    rows = [_hold_json(h) for h in found]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    if not rows:
        click.echo("no raw holds")
        return
    table("raw holds", list(rows[0]), [list(r.values()) for r in rows])


@command.command("release")
@click.argument("hold_id", type=int)
@click.option("--actor", default="cli", show_default=True, help="Who releases it (kept).")
@click.pass_obj
def release(ctx: CliContext, hold_id: int, actor: str) -> None:
    """End a raw hold; its rows expire again under their source's retention."""
    released = ctx.store().raw_release(hold_id, actor=actor)
    click.echo(f"hold #{released.id} on {released.source} released")


@command.command("pages")
@click.argument("source")
@click.option("--run", "run_srn", help="Only this run's pages (its srn).")
@click.option("--after", type=int, default=0, show_default=True, help="Page ids after this one.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per page.")
@click.pass_obj
def pages(
    ctx: CliContext, source: str, run_srn: str | None, after: int, limit: int, as_json: bool
) -> None:
    """The responses a pulled SOURCE kept (its raw layer, raw or simple), oldest first."""
    found = ctx.store().harvest_page_list(source, run_srn, after=after, limit=limit)
    if as_json:
        for info in found:
            echo_json(dataclasses.asdict(info))
        return
    table(
        f"{source}: kept pages",
        ["id", "received", "run", "seq", "status", "bytes", "url", "note"],
        [
            [i.id, i.received_at[:19], i.run_srn.rsplit(":", 1)[-1][:12], i.seq, i.status,
             i.size, i.url, i.error or ("erased " + i.erased_at[:19] if i.erased_at else "")]
            for i in found
        ],
    )  # fmt: skip


@command.command("page")
@click.argument("page_id", type=int)
@click.option("--bytes", "as_bytes", is_flag=True, help="Write the page's bytes to stdout.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def page(ctx: CliContext, page_id: int, as_bytes: bool, as_json: bool) -> None:
    """One kept page: what was asked, what came back (`raw pages` lists their ids)."""
    _page_out(ctx.store().harvest_page(page_id), as_bytes, as_json, "")


def _page_out(page: StoredPage, as_bytes: bool, as_json: bool, lead: str) -> None:
    if as_bytes:
        sys.stdout.buffer.write(page.body)
        sys.stdout.buffer.flush()
        return
    row = {
        "page_id": page.id, "source": page.source, "run": page.run_srn, "seq": page.seq,
        "url": page.url, "status": page.status, "headers": dict(page.headers),
        "bytes": len(page.body), "received_at": page.received_at, "error": page.error,
        "erased_at": page.erased_at,
    }  # fmt: skip
    if as_json:
        echo_json(row)
        return
    click.echo(f"{lead}the whole page that held it:" if lead else f"page {page.id}")
    for key, value in row.items():
        click.echo(f"  {key}: {'' if value is None else value}")
