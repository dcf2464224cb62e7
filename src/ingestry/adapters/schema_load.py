"""A new store's schema in one step: the committed snapshot of the database at `HEAD`.

Running the whole Alembic history on an empty database cost ~0.55 s a store (importing
Alembic, then ~40 revisions), more than a whole small ingest into a current one. The
snapshot (`migrations/snapshot/<dialect>.sql`, what the migrations build, captured by
`schema_snapshot.py`) is loaded in one transaction instead, as Rails' `db:schema:load`
does, and stamped with its revision; the node id is made as the node identity migration
makes it. The snapshot is used only when it is current: its header names the revision
and a digest of the migration files it was generated from, and a snapshot that does not
match both (a migration added or edited, the snapshot not regenerated) is ignored, so
the store is migrated by Alembic instead (and `tests/integration/test_schema_snapshot.py`
fails, asking for `./dev snapshot`). Existing stores, `db upgrade` and `db downgrade`
always use Alembic. No Alembic, SQLAlchemy or driver import here: the caller hands over
its open connection.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestry.adapters.sql.nodeid import new_node_id
from ingestry.domain.clock import utc_now

if TYPE_CHECKING:
    import psycopg

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SNAPSHOTS = MIGRATIONS / "snapshot"
VERSIONS = MIGRATIONS / "versions"

#: The header lines that say what a snapshot is (`-- key: value`).
REVISION_KEY = "revision"
DIGEST_KEY = "migrations"
_HEADER = re.compile(r"-- (\w+): (\S+)$")
_REVISION = re.compile(r"\d{8}_\d{6}")

#: SQLAlchemy's text form of a DateTime on SQLite (what the migration's insert stores).
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class Snapshot:
    """A dialect's schema at `revision`, as DDL statements to run in order."""

    dialect: str
    revision: str
    digest: str
    ddl: str


def snapshot_path(dialect: str, directory: Path = SNAPSHOTS) -> Path:
    return directory / f"{dialect}.sql"


def migrations_digest(versions: Path = VERSIONS) -> str:
    """sha256 of the revision files (names and bytes), so a migration edited in place
    (a reserved no-op filled in keeps its revision id) makes the snapshot stale too."""
    digest = hashlib.sha256()
    for path in sorted(versions.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def parse(dialect: str, text: str) -> Snapshot:
    """A snapshot file's header and DDL; ValueError when the header is not ours."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        found = _HEADER.match(line)
        if found:
            header[found[1]] = found[2]
    revision, digest = header.get(REVISION_KEY, ""), header.get(DIGEST_KEY, "")
    if not _REVISION.fullmatch(revision) or not digest:
        raise ValueError(f"not an ingestry schema snapshot ({dialect}): no revision/digest")
    return Snapshot(dialect, revision, digest, text)


def read(dialect: str, head: str, directory: Path = SNAPSHOTS) -> Snapshot | None:
    """The dialect's snapshot if it is at `head` and made from these migration files;
    None otherwise (no snapshot for the dialect, or a stale one: migrate instead)."""
    path = snapshot_path(dialect, directory)
    if not path.is_file():
        return None
    snapshot = parse(dialect, path.read_text(encoding="utf-8"))
    if snapshot.revision != head or snapshot.digest != migrations_digest():
        return None
    return snapshot


def load_sqlite(conn: sqlite3.Connection, snapshot: Snapshot) -> None:
    """One write transaction on an autocommit connection (`isolation_level=None`):
    the DDL, Alembic's stamp and the node id commit together or not at all."""
    try:
        # executescript commits a pending transaction first, so BEGIN is in the script
        conn.executescript("BEGIN IMMEDIATE;\n" + snapshot.ddl)
        conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (snapshot.revision,))
        conn.execute(
            "INSERT INTO node_identity (singleton, node_id, created_at) VALUES (1, ?, ?)",
            (new_node_id(), utc_now().strftime(SQLITE_TIMESTAMP)),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def load_postgres(conn: psycopg.Connection[tuple[Any, ...]], snapshot: Snapshot) -> None:
    """One transaction (DDL is transactional on PostgreSQL) into the connection's
    current schema: the snapshot names no schema, `search_path` places it."""
    with conn.transaction():
        conn.execute(snapshot.ddl)  # no parameters: one simple-protocol batch
        conn.execute("INSERT INTO alembic_version (version_num) VALUES (%s)", (snapshot.revision,))
        conn.execute(
            "INSERT INTO node_identity (singleton, node_id, created_at) VALUES (1, %s, %s)",
            (new_node_id(), utc_now()),
        )
