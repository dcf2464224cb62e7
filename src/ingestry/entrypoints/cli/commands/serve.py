"""`ingestry serve --host --port`: the HTTP API under uvicorn."""

from __future__ import annotations

import click

from ingestry.domain.errors import ConfigError, install_hint
from ingestry.entrypoints.cli.context import CliContext


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--log-level", default="info", show_default=True)
@click.pass_obj
def command(ctx: CliContext, host: str, port: int, log_level: str) -> None:
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
    app = create_app(ctx.settings())
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, log_level=log_level)
