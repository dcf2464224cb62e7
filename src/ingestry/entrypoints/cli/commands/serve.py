"""`ingestry serve --host --port`: the HTTP API under uvicorn."""

from __future__ import annotations

import os
import tempfile

import click

from ingestry.domain.errors import ConfigError, install_hint
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.metrics import MULTIPROC_ENV, reset_multiprocess_dir


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="API processes; /metrics sums them (PROMETHEUS_MULTIPROC_DIR, made if unset).",
)
@click.option("--log-level", default="info", show_default=True)
@click.pass_obj
def command(ctx: CliContext, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the HTTP API (/v1, /healthz, /metrics; docs at /docs outside production)."""
    try:
        import uvicorn

        from ingestry.entrypoints.api import create_app
    except ImportError as exc:
        raise ConfigError(
            f"the HTTP API needs the api extra ({exc}): {install_hint('api')}"
        ) from None
    from ingestry.entrypoints.logs import configure_logging

    configure_logging(log_level)
    settings = ctx.settings()
    if workers > 1 or os.environ.get(MULTIPROC_ENV):
        directory = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="ingestry-metrics-")
        os.environ[MULTIPROC_ENV] = directory  # before any process imports prometheus-client
        reset_multiprocess_dir(directory)
    if workers == 1:
        app = create_app(settings)
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False, log_level=log_level
        )
        return
    os.environ["INGESTRY_CONFIG"] = str(settings.path.resolve())
    os.environ["INGESTRY_SERVE_LOG_LEVEL"] = log_level
    uvicorn.run(
        "ingestry.entrypoints.api.factory:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        log_level=log_level,
    )
