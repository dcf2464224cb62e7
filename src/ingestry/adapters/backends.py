"""The storage backends: one entry per backend, the one list everything consults.

An entry says which database URLs a backend serves and which package implements it;
the package (a folder under `adapters/`) exports `ADAPTER`, a `BackendAdapter` that
opens its storage and its control-plane engine. Config validation, the composition
root, the API (one writer or many) and the test fixtures all read this list, so a new
backend is its folder plus one entry here. Nothing is imported until a backend is
used (`Backend.load`): this module is read by every command at start-up.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ingestry.services.ports import Storage


class BackendAdapter(Protocol):
    """What a backend package exports as `ADAPTER`."""

    #: Write lanes of an ingest unless INGESTRY_WRITE_LANES says otherwise.
    default_lanes: int

    def open_storage(self, url: str, *, lanes: int) -> Storage:
        """The data path's storage on `url` (connected, schema not checked yet)."""
        ...

    def control_engine(self, url: str) -> sa.Engine:
        """A pooled engine for the control tables (jobs, API keys, idempotency)."""
        ...

    def sqlalchemy_url(self, url: str) -> str:
        """`url` as SQLAlchemy takes it (the driver spelled out)."""
        ...


@dataclass(frozen=True, slots=True)
class Backend:
    """One storage backend: the URLs it serves and the package that implements it."""

    name: str
    #: URL prefixes this backend serves.
    schemes: tuple[str, ...]
    #: The package (`adapters/<folder>`) whose `ADAPTER` implements it.
    package: str
    #: How a URL looks, for error messages.
    example: str
    #: The URL is this prefix plus a file path; a relative one resolves against the
    #: config file's directory. None: the backend is a server.
    file_prefix: str | None = None
    #: Takes one write transaction at a time (the API then group-commits on one writer).
    single_writer: bool = False
    #: The optional driver the package needs, and the extra that installs it.
    driver: str | None = None
    extra: str | None = None

    def serves(self, url: str) -> bool:
        return url.startswith(self.schemes)

    def load(self) -> BackendAdapter:
        """The implementation; ImportError when its driver is not installed."""
        if self.driver is not None:
            importlib.import_module(self.driver)
        adapter: BackendAdapter = importlib.import_module(self.package).ADAPTER
        return adapter


BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="sqlite",
        schemes=("sqlite:///",),
        package="ingestry.adapters.sqlite",
        example="sqlite:///PATH",
        file_prefix="sqlite:///",
        single_writer=True,
    ),
    Backend(
        name="postgres",
        schemes=("postgresql://", "postgres://", "postgresql+psycopg://"),
        package="ingestry.adapters.postgres",
        example="postgresql://USER@HOST/DB",
        driver="psycopg",
        extra="postgres",
    ),
)


def backend_for(url: str) -> Backend | None:
    """The backend serving `url`, or None when no backend does."""
    return next((b for b in BACKENDS if b.serves(url)), None)


def supported_urls() -> str:
    """The URL forms the backends take, for error messages."""
    return " or ".join(b.example for b in BACKENDS)
