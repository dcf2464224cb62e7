"""`ingestry runs list|show`"""

from __future__ import annotations

import click

from ingestry.domain.runs import RunKind
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import dumps, echo_json, table


@click.group("runs")
def command() -> None:
    """Runs (ingest, replay, harvest): when, what, the summary, the files."""


@command.command("list")
@click.option("--source", default=None, help="Only this source's runs.")
@click.option("--kind", type=click.Choice([k.value for k in RunKind]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one run each.")
@click.pass_obj
def list_runs(
    ctx: CliContext, source: str | None, kind: str | None, limit: int, as_json: bool
) -> None:
    """Runs, newest first."""
    runs = ctx.store().runs(source, kind, limit)
    if as_json:
        for run in runs:
            click.echo(dumps(run.as_dict()))
        return
    table(
        "runs",
        ["srn", "kind", "source", "status", "started_at", "received", "created", "updated"],
        [
            [
                r.srn,
                r.kind.value,
                r.source,
                r.status,
                r.started_at.isoformat(timespec="seconds"),
                *((r.summary or {}).get(k, "") for k in (
                    "received", "records_created", "records_updated"
                )),
            ]
            for r in runs
        ],
    )  # fmt: skip


@command.command("show")
@click.argument("srn")
@click.pass_obj
def show_run(ctx: CliContext, srn: str) -> None:
    """One run as JSON: its summary, files or requests, status."""
    echo_json(ctx.store().run(srn).as_dict())
