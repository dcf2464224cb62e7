"""`ingestry worker`: run jobs (and optionally a Redis Streams consumer)."""

from __future__ import annotations

import threading

import click

from ingestry.entrypoints.cli.context import CliContext


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is waiting, then exit.")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--stream", default=None, help="Also consume this Redis stream (ingestry:ingest).")
@click.option("--group", default="ingestry", show_default=True, help="Stream consumer group.")
@click.option("--consumer", default=None, help="Consumer name (default: host:pid).")
@click.option(
    "--claim-idle",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds before another consumer's pending message is claimed.",
)
@click.option(
    "--retention-every",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    help="Seconds between scheduled retention runs (0: none).",
)
@click.option("--log-level", default="info", show_default=True)
@click.pass_obj
def command(
    ctx: CliContext,
    once: bool,
    concurrency: int,
    stream: str | None,
    group: str,
    consumer: str | None,
    claim_idle: float,
    retention_every: float,
    log_level: str,
) -> None:
    """Claim and run jobs with a lease until SIGTERM (the job in hand is released)."""
    from ingestry.entrypoints.logs import configure_logging
    from ingestry.entrypoints.worker import WorkerOptions, install_signal_handlers, run_worker

    configure_logging(log_level)
    settings = ctx.settings()
    stop = threading.Event()
    install_signal_handlers(stop)
    options = WorkerOptions(
        once=once,
        concurrency=concurrency,
        stream=stream,
        group=group,
        consumer=consumer,
        claim_idle=claim_idle,
        retention_every=retention_every,
    )
    run_worker(settings, options, stop)
