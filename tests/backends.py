"""The databases tests run on: a SQLite file or a fresh PostgreSQL schema per test.

`Database` is what a test asserts against, whatever the backend: row counts, rows,
table names, "nothing was written". It reads through its own SQLAlchemy engine (never
a store's private connection), so the same assertion holds on both backends.

PostgreSQL isolation: every test gets its own empty schema and a URL whose
`options=-csearch_path=…` points everything (migrations, partitions, staging) into it;
the schema is dropped afterwards. Measured here: a schema plus the migrations that the
first ingest runs costs ~0.1 s; a database cloned from a migrated template costs about
the same (0.06-0.13 s per CREATE DATABASE … TEMPLATE) but starts migrated. A schema
starts empty, exactly like a fresh SQLite file, so "an empty database is migrated on
first use" is exercised on both backends, and there is no template to keep in step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from ingestry.adapters.backends import backend_for

POSTGRES_ENV = "INGESTRY_TEST_POSTGRES_URL"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Server:
    """Where the tests find a server backend's server: `env` names it, else `default`."""

    label: str
    env: str
    default: str


#: The servers of the registry's server backends (`adapters.backends`); an embedded
#: backend (a file) needs none.
SERVERS = {"postgres": Server("PostgreSQL", POSTGRES_ENV, POSTGRES_DEFAULT)}


@dataclass
class Database:
    """One test database. `url` is what a config or INGESTRY_DATABASE_URL names."""

    kind: str
    url: str
    sqlite_file: Path | None = None
    _engine: sa.Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            backend = backend_for(self.url)
            assert backend is not None, self.url
            url = backend.load().sqlalchemy_url(self.url)
            self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        return self._engine

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.rows(sql, **params)[0][0]

    def count(self, table: str, where: str = "") -> int:
        return int(self.scalar(f'SELECT count(*) FROM "{table}" {where}'))

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params)

    def tables(self) -> set[str]:
        return set(sa.inspect(self.engine).get_table_names())

    def indexes(self, table: str) -> set[str]:
        return {str(ix["name"]) for ix in sa.inspect(self.engine).get_indexes(table)}

    def untouched(self) -> bool:
        """Nothing was ever written: no SQLite file, or an empty PostgreSQL schema."""
        if self.sqlite_file is not None:
            return not self.sqlite_file.exists()
        return not self.tables()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def with_search_path(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema`."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}', safe='')}"


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A fresh, empty schema on the server; yields a URL pointing into it."""
    import psycopg

    from ingestry.adapters.postgres.url import libpq_url

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(server_url, schema)
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as admin:
            admin.execute("SET lock_timeout = '30s'")
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def sqlite_database(directory: Path, _server_url: str | None) -> Iterator[Database]:
    """`data/ingestry.db` under `directory` (not created: a store creates it)."""
    path = directory / "data" / "ingestry.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database("sqlite", f"sqlite:///{path}", sqlite_file=path)
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def postgres_database(_directory: Path, server_url: str | None) -> Iterator[Database]:
    """A fresh schema on the server, dropped afterwards."""
    assert server_url is not None
    with postgres_schema(server_url) as url:
        db = Database("postgres", url)
        try:
            yield db
        finally:
            db.dispose()


#: A fresh, empty database of each backend in the registry, for one test.
SCRATCH: dict[str, Callable[[Path, str | None], AbstractContextManager[Database]]] = {
    "sqlite": sqlite_database,
    "postgres": postgres_database,
}


@contextmanager
def database(kind: str, directory: Path, server_url: str | None = None) -> Iterator[Database]:
    """A fresh database of `kind`; files live under `directory`."""
    with SCRATCH[kind](directory, server_url) as db:
        yield db


def postgres_server_url() -> str:
    return os.environ.get(POSTGRES_ENV, POSTGRES_DEFAULT)
