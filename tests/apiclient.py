"""Helpers for API tests: an in-process client over a real app (lifespan included)
and API keys created through the Store, as `ingestry keys create` does."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ingestry
from ingestry.config import load_settings
from ingestry.entrypoints.api import create_app

with warnings.catch_warnings():
    # starlette 1.x asks for `httpx2`; plain httpx still works for the test client
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient


def create_key(config: Path, name: str, sources: list[str], *, admin: bool = False) -> str:
    with ingestry.open(config) as store:
        return store.create_api_key(name, sources, admin=admin)[1]


@contextmanager
def api_client(config: Path, env: dict[str, str] | None = None) -> Iterator[TestClient]:
    settings = load_settings(config, env=env or {})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"X-API-Key": token, **headers}


__all__ = ["TestClient", "api_client", "auth", "create_key"]
