"""The app as uvicorn's worker processes build it (`ingestry serve --workers N`): each
process reads the settings from INGESTRY_CONFIG and its log level from
INGESTRY_SERVE_LOG_LEVEL, which `serve` sets."""

from __future__ import annotations

import os

from fastapi import FastAPI

from ingestry.config import load_settings
from ingestry.entrypoints.api.app import create_app
from ingestry.entrypoints.logs import configure_logging

LOG_LEVEL_ENV = "INGESTRY_SERVE_LOG_LEVEL"


def app_from_env() -> FastAPI:
    configure_logging(os.environ.get(LOG_LEVEL_ENV, "info"))
    return create_app(load_settings())
