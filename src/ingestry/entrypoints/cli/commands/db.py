"""`ingestry db upgrade|downgrade|current`"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext


@click.group("db")
def command() -> None:
    """Database schema migrations (Alembic)."""


@command.command("upgrade")
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(ctx: CliContext, revision: str) -> None:
    """Migrate the schema up to REVISION (default: head)."""
    before, after = ctx.store(prepare=False).schema_upgrade(revision)
    click.echo(f"schema: {before or 'empty'} -> {after}")


@command.command("downgrade")
@click.argument("revision")
@click.pass_obj
def downgrade(ctx: CliContext, revision: str) -> None:
    """Migrate the schema down to REVISION (`base` leaves no table, record tables too)."""
    before, after = ctx.store(prepare=False).schema_downgrade(revision)
    click.echo(f"schema: {before or 'empty'} -> {after or 'empty'}")


@command.command("current")
@click.pass_obj
def current(ctx: CliContext) -> None:
    """Print the database's schema revision and the one this ingestry needs."""
    revision, head = ctx.store(prepare=False).schema_current()
    click.echo(f"current: {revision or 'empty'}")
    click.echo(f"head:    {head}")
