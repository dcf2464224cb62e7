"""`ingestry keys create|list|revoke`: API keys for the HTTP API."""

from __future__ import annotations

from typing import Any

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json, table


@click.group("keys")
def command() -> None:
    """API keys: create (shown once), list, revoke."""


@command.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--sources", default="", help="Comma-separated sources the key may use.")
@click.option("--admin", is_flag=True, help="Every source, every job, /metrics.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def create(ctx: CliContext, name: str, sources: str, admin: bool, as_json: bool) -> None:
    """Create a key; its token is printed once and never stored."""
    names = [s.strip() for s in sources.split(",") if s.strip()]
    if not names and not admin:
        raise click.UsageError("give --sources a,b (or --admin)")
    key, token = ctx.store().create_api_key(name, names, admin=admin)
    if as_json:
        echo_json({"name": key.name, "prefix": key.prefix, "sources": list(key.sources),
                   "admin": key.admin, "token": token})  # fmt: skip
        return
    click.echo(token)
    click.echo(
        f"key {key.prefix} for '{name}' ({'admin' if admin else ', '.join(names)}): "
        "store the token now, it is not shown again",
        err=True,
    )


@command.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_keys(ctx: CliContext, as_json: bool) -> None:
    """Every key (never the token): prefix, name, sources, admin, created, revoked."""
    keys = ctx.store().api_keys().list()
    rows: list[dict[str, Any]] = [
        {
            "prefix": k.prefix,
            "name": k.name,
            "sources": list(k.sources),
            "admin": k.admin,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in keys
    ]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    table(
        "API keys",
        ["prefix", "name", "sources", "admin", "created", "revoked"],
        [
            [r["prefix"], r["name"], ",".join(r["sources"]), r["admin"], r["created_at"],
             r["revoked_at"] or ""]
            for r in rows
        ],
    )  # fmt: skip


@command.command("revoke")
@click.argument("key")
@click.pass_obj
def revoke(ctx: CliContext, key: str) -> None:
    """Revoke by prefix (or every active key with that name)."""
    count = ctx.store().api_keys().revoke(key)
    if count == 0:
        raise click.ClickException(f"no active key '{key}'")
    click.echo(f"revoked {count} key{'s' if count != 1 else ''}")
