"""`ingestry events dispatch|dead|retry`: the outbox from the command line."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json


@click.group("events")
def command() -> None:
    """Record events: deliver them to handlers (hooks, fan-out), inspect and retry."""


@command.command("dispatch")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N events.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds between polls of an empty outbox (without --once).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON summary.")
@click.pass_obj
def dispatch(ctx: CliContext, once: bool, limit: int | None, poll: float, as_json: bool) -> None:
    """Deliver pending events; without --once, keep going until SIGINT/SIGTERM."""
    dispatcher = ctx.store().dispatcher()
    if once or limit is not None:
        summary = dispatcher.run_once(limit)
    else:
        stop = threading.Event()
        with _stop_on_signals(stop):
            summary = dispatcher.run_forever(stop, poll)
    if as_json:
        echo_json(summary.as_dict())
        return
    click.echo(
        f"events: {summary.delivered} delivered, {summary.retried} to retry, "
        f"{summary.dead} dead ({summary.claimed} claimed in {summary.seconds:.3f} s)"
    )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM finish the event under way, give back the rest, and exit 0."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@command.command("dead")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one event each.")
@click.pass_obj
def dead(ctx: CliContext, as_json: bool) -> None:
    """Events parked after too many failed deliveries."""
    events = ctx.store().dead_events()
    if as_json:
        for event in events:
            echo_json(event.as_dict())
        return
    if not events:
        click.echo("no dead events")
        return
    click.echo(f"dead events: {len(events)} (`ingestry events retry ID…|--all` replays them)")
    for e in events:
        click.echo(
            f"  #{e.id} {e.kind} {e.srn} v{e.version}: {e.attempts} attempts: {e.last_error}"
        )


@command.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Every dead event.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def retry(ctx: CliContext, ids: tuple[int, ...], retry_all: bool, as_json: bool) -> None:
    """Make dead events (IDs, or --all) pending again, with fresh attempts."""
    if bool(ids) == retry_all:
        raise click.UsageError("give event IDs or --all (not both)")
    count = ctx.store().retry_events("all" if retry_all else ids)
    if as_json:
        echo_json({"retried": count})
    else:
        click.echo(f"{count} event(s) pending again")
    if ids and count < len(set(ids)):
        raise click.ClickException(f"{len(set(ids)) - count} of the IDs are not dead events")
