"""Shared fixtures: a project directory with a config and sample data, and stores.

Storage-touching tests run on every backend: the `backend` fixture is parametrized
(`sqlite`, and `postgres` marked `postgres`), `db` is a fresh database of that backend
(a SQLite file, or an empty PostgreSQL schema per test, see `tests.backends`), and
`project` writes a config pointing at it. Tests that never touch storage use
`local_project` and run once.

Tests that need a server call `require_service`: on a laptop without it they skip and
say how to point them at one; in CI (`INGESTRY_REQUIRE_SERVICES=1`) they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import settings

import ingestry
from ingestry.adapters.backends import BACKENDS
from ingestry.store import Store
from tests.backends import SERVERS, Database, database

# No test is timed (the project's rule): a hypothesis deadline fails an example that
# ran slow on a loaded machine, not one that is wrong (a fresh clone's suite failed
# test_sqlite_multirow at 279 ms against the default 200 ms)
settings.register_profile("ingestry", deadline=None)
settings.load_profile("ingestry")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = "sqlite:///data/ingestry.db"
EXAMPLES = REPO / "examples"

TEST_CONFIG = """\
database: sqlite:///data/ingestry.db
conventions:
  order:
    columns:
      order_number: {path: order_number, type: text}
      created_at:   {path: created_at, type: timestamp, required: true}
      total:        {path: total_price, type: decimal}
      email:        {path: customer.email, type: text, index: true}
      item_count:   {path: line_items.0.quantity, type: integer}
      paid:         {path: financial.paid, type: boolean}
  exchange_rate:
    columns:
      day:   {path: date, type: date, required: true}
      base:  {path: base, type: text, required: true}
      quote: {path: quote, type: text, required: true}
      rate:  {path: rate, type: decimal, required: true}
sources:
  customer_orders:
    strategy: raw
    convention: order
    rationale: Customer-provided data, cannot re-fetch
    retention_days: 90
    format: jsonl
    id: id
    entity_type: type
    files: data/samples/orders.jsonl
  orders_simple:
    strategy: simple
    convention: order
    rationale: Re-fetchable copy
    format: jsonl
    id: id
  orders_json:
    strategy: raw
    convention: order
    rationale: Partner uploads as JSON arrays
    format: json
    id: id
  exchange_rates:
    strategy: simple
    convention: exchange_rate
    rationale: Public API data, re-fetchable any time
    format: csv
    id: [date, base, quote]
    files: data/samples/exchange_rates.csv
"""


def require_service(name: str, env_var: str, default_url: str) -> str:
    """The URL of a reachable server, or skip (laptop) / fail (CI) with a clear reason."""
    url = os.environ.get(env_var, default_url)
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port
    try:
        with socket.create_connection((host, port or 0), timeout=1.0):
            return url
    except OSError as exc:
        message = (
            f"{name} is not reachable at {host}:{port} ({exc}); "
            f"set {env_var} to a server's URL to run these tests"
        )
        if os.environ.get("INGESTRY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} (CI requires it: INGESTRY_REQUIRE_SERVICES=1)")
        pytest.skip(message)


@pytest.fixture(
    params=[
        # a server backend's tests carry its marker (`-m "not postgres"` skips them)
        pytest.param(b.name, marks=() if b.file_prefix else getattr(pytest.mark, b.name))
        for b in BACKENDS
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend a test runs on: every entry of the registry."""
    return str(request.param)


def _server(backend: str) -> str | None:
    server = SERVERS.get(backend)
    if server is None:
        return None
    return require_service(server.label, server.env, server.default)


REDIS_ENV = "INGESTRY_TEST_REDIS_URL"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis (database 15 by default). Several test runs may share it at
    once, so tests use keys, streams and channels unique to themselves (or filter
    messages by srns only they produce) and never flush the database."""
    return require_service("Redis", REDIS_ENV, REDIS_DEFAULT)


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """The project's database: `data/ingestry.db` under the project, or a fresh schema."""
    with database(backend, tmp_path, _server(backend)) as opened:
        yield opened


@pytest.fixture
def other_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A second fresh database of the same backend."""
    with database(backend, tmp_path / "other", _server(backend)) as opened:
        yield opened


def write_project(root: Path, database_url: str = "sqlite:///data/ingestry.db") -> Path:
    """ingestry.yaml (pointing at `database_url`) plus the example sample files."""
    text = TEST_CONFIG.replace("sqlite:///data/ingestry.db", database_url, 1)
    (root / "ingestry.yaml").write_text(text, encoding="utf-8")
    samples = root / "data" / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    for name in ("orders.jsonl", "exchange_rates.csv"):
        shutil.copy(EXAMPLES / "data" / "samples" / name, samples / name)
    return root


@pytest.fixture
def project(tmp_path: Path, db: Database) -> Path:
    """A project directory whose config points at `db` (SQLite keeps the relative
    `sqlite:///data/ingestry.db`, which resolves to the same file)."""
    return write_project(tmp_path, db.url if db.kind == "postgres" else DEFAULT_SQLITE)


@pytest.fixture
def local_project(tmp_path: Path) -> Path:
    """A project on SQLite, for tests that never touch storage (run once, not per backend)."""
    return write_project(tmp_path)


@pytest.fixture
def config_path(project: Path) -> Path:
    return project / "ingestry.yaml"


@pytest.fixture
def store(config_path: Path) -> Iterator[Store]:
    with ingestry.open(config_path) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's INGESTRY_* settings by accident."""
    for key in ("INGESTRY_CONFIG", "INGESTRY_DATABASE_URL", "INGESTRY_CACHE_URL", "INGESTRY_ENV"):
        monkeypatch.delenv(key, raising=False)
