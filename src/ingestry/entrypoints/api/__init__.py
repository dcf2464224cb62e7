"""The HTTP API (FastAPI; the `api` extra). `create_app(settings)` builds it."""

from ingestry.entrypoints.api.app import create_app

__all__ = ["create_app"]
