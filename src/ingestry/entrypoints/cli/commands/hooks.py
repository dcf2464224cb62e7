"""`ingestry hooks runs [--failed]`, `hooks rerun SRN [--hook H]`, `hooks runners`"""

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


@command.command("rerun")
@click.argument("srn")
@click.option("--hook", default=None, help="Only this hook (default: all of the convention's).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one hook run each.")
@click.pass_obj
def rerun(ctx: CliContext, srn: str, hook: str | None, as_json: bool) -> None:
    """Run a record's hooks again now (on its current version), recorded as hook runs.
    Exits 0 when every hook ran (a failed hook is reported, as `hooks runs` shows it)."""
    outcomes = ctx.store().rerun_hooks(srn, hook)
    if as_json:
        for outcome in outcomes:
            echo_json(outcome.as_dict())
        return
    if not outcomes:
        click.echo(f"{srn}: its convention has no hooks")
        return
    for o in outcomes:
        exit_code = "killed" if o.exit_code is None else f"exit {o.exit_code}"
        line = f"{o.hook} {o.srn} v{o.version}: {o.status} ({exit_code}, "
        line += f"{o.duration_seconds:.2f} s, {o.features} features)"
        click.echo(line + (f": {o.reason}" if o.reason else ""))


@command.command("runners")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: name → origin.")
@click.pass_obj
def runners(ctx: CliContext, as_json: bool) -> None:
    """Hook runners this install can use (`hooks: {runner: NAME}` in ingestry.yaml)."""
    found = ctx.store().hook_runners()
    if as_json:
        echo_json(found)
        return
    for name, origin in sorted(found.items()):
        click.echo(f"{name}: {origin}")


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1][:120] if lines else ""
