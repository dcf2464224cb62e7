"""The Storage / StorageSession contract, written once, run on every backend.

`storage` is an opened, prepared Storage on a fresh database of every backend, or the
in-memory fake; `rows` builds port rows
(the hot-path tuples) the way the batch preparation does, so these tests pin down what
every adapter must do with them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingestry.adapters.backends import BACKENDS
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.extract.jsonio import dumps
from ingestry.services.ports import QuarantineRow, RawRow, RecordRow, Storage
from tests.backends import Database
from tests.fakes import MemoryStorage

NOW = "2026-11-23T10:00:00.000000+00:00"
LATER = "2026-11-23T11:00:00.000000+00:00"
SOURCE = "src"
NODE = "node"
PROVENANCE_FIELDS = {
    "harvest": {"harvest_run_srn": "srn:run:1", "upstream_source": SOURCE},
    "fork": {"source_node": NODE},
    "import": {"source_node": NODE},
}
UPSTREAM = {"harvest": SOURCE, "fork": NODE, "import": NODE, "deposition": ""}

CONVENTION = Convention(
    "thing",
    (
        ColumnSpec("label", ("label",), ColumnType.TEXT),
        ColumnSpec("count", ("count",), ColumnType.INTEGER),
        ColumnSpec("ratio", ("ratio",), ColumnType.FLOAT),
        ColumnSpec("amount", ("amount",), ColumnType.DECIMAL),
        ColumnSpec("flag", ("flag",), ColumnType.BOOLEAN),
        ColumnSpec("at", ("at",), ColumnType.TIMESTAMP, index=True),
        ColumnSpec("day", ("day",), ColumnType.DATE),
        ColumnSpec("doc", ("doc",), ColumnType.JSON),
        ColumnSpec("shape", ("shape",), ColumnType.GEOMETRY),
    ),
)


BACKEND_PARAMS = [
    pytest.param(b.name, marks=() if b.file_prefix else getattr(pytest.mark, b.name))
    for b in BACKENDS
]
MEMORY = "memory"


@pytest.fixture(params=[*(p.values[0] for p in BACKEND_PARAMS), MEMORY])
def backend(request: pytest.FixtureRequest) -> str:
    """The contract runs on every backend of the registry and on the in-memory fake
    (`tests/fakes`). A test that reads the database behind the port (it asks for `db`)
    is a SQL backend's test: it is not collected for the fake (see
    `pytest_collection_modifyitems`), never skipped."""
    return str(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    chosen, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_fake = params is not None and params.params.get("backend") == MEMORY
        needs_db = "db" in getattr(item, "fixturenames", ())
        inside = here in Path(str(item.path)).parents
        only = item.get_closest_marker("only_backends")
        elsewhere = (
            only is not None
            and params is not None
            and params.params.get("backend") not in only.args
        )
        (dropped if inside and ((on_fake and needs_db) or elsewhere) else chosen).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


@pytest.fixture
def storage(request: pytest.FixtureRequest, backend: str) -> Iterator[Storage]:
    """A prepared storage: the fake, or one on `db` (SQLite file or fresh PostgreSQL schema)."""
    opened: Storage
    if backend == MEMORY:
        opened = MemoryStorage()
    else:
        db: Database = request.getfixturevalue("db")
        if db.kind == "sqlite":
            from ingestry.adapters.sqlite import SQLiteStorage

            assert db.sqlite_file is not None
            opened = SQLiteStorage(db.sqlite_file)
        else:
            from ingestry.adapters.postgres import PostgresStorage

            opened = PostgresStorage(db.url)
    try:
        opened.prepare([CONVENTION], auto_upgrade=True)
        yield opened
    finally:
        opened.close()


def sha(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()


def raw_row(
    source_id: str,
    payload: bytes,
    *,
    source: str = SOURCE,
    line: int | None = 1,
    received_at: str = NOW,
    header: bytes | None = None,
    error: str | None = None,
) -> RawRow:
    return (
        source, "thing", source_id, sha(payload), payload, header, received_at, received_at,
        "v1", error, line, "file.jsonl",
    )  # fmt: skip


def quarantine_row(
    payload: bytes, reason: str, *, line: int = 1, source: str = SOURCE
) -> QuarantineRow:
    return (source, sha(payload), payload, line, "file.jsonl", reason, NOW)


def columns(**values: Any) -> tuple[Any, ...]:
    """Storage-ready column values (as the coercers produce them), convention order."""
    defaults: dict[str, Any] = {
        "label": "a",
        "count": 1,
        "ratio": 0.5,
        "amount": "1.50",
        "flag": True,
        "at": "2026-11-01T10:00:00.000000+00:00",
        "day": "2026-11-01",
        "doc": '{"k":[1,2]}',
        "shape": '{"coordinates":[1.5,2.5],"type":"Point"}',
    }
    defaults.update(values)
    # the geometry's measure columns: None unless given (the extractor derives them;
    # the storage contract only carries them)
    return tuple(
        defaults[c.name] if c.derived is None else defaults.get(c.name) for c in CONVENTION.columns
    )


def record_row(
    source_id: str,
    *,
    metadata: dict[str, Any] | None = None,
    source_type: str = "harvest",
    raw_sha: bytes | None = None,
    upstream: str | None = None,
    **values: Any,
) -> RecordRow:
    cols = columns(**values)
    meta = dumps(metadata or {})
    content = hashlib.blake2b(orjson.dumps(cols) + b"\x1e" + meta, digest_size=16).digest()
    extra = dict(PROVENANCE_FIELDS.get(source_type, {}))
    up = UPSTREAM[source_type] if upstream is None else upstream
    if upstream is not None:
        extra["upstream_source" if source_type == "harvest" else "source_node"] = upstream
    source = orjson.dumps({"type": source_type, "id": source_id, **extra}).decode()
    return (
        source_type, source_id, source, SOURCE, meta.decode(), content, "v1", raw_sha, cols, up,
    )  # fmt: skip
