"""`ingestry hooks runs [--failed]`"""

from __future__ import annotations

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.group("hooks")
def command() -> None:
    """Convention hooks: what ran, what failed."""


@command.command("runs")
@click.option("--failed", is_flag=True, help="Only failed runs (non-zero, timeout, garbage).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="The latest N runs.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one run each.")
@click.pass_obj
def runs(ctx: CliContext, failed: bool, limit: int | None, as_json: bool) -> None:
    """Hook runs, oldest first: hook, record version, status, exit code, reason."""
    found = ctx.store().hook_runs(failed, limit=limit)
    if as_json:
        for run in found:
            echo_json(run.as_dict())
        return
    if not found:
        click.echo("no failed hook runs" if failed else "no hook runs")
        return
    click.echo(f"{'failed ' if failed else ''}hook runs: {len(found)}")
    for r in found:
        exit_code = "killed" if r.exit_code is None else f"exit {r.exit_code}"
        line = f"  #{r.id} {r.hook} {r.srn} v{r.version}: {r.status} ({exit_code}, "
        line += f"{r.duration_seconds:.2f} s, {r.features} features)"
        if r.reason:
            line += f": {r.reason}"
        last = _last_line(r.stderr_tail)
        if last:
            line += f" | stderr: {last}"
        click.echo(line)


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1][:120] if lines else ""
