"""The outbox's srn index on PostgreSQL is a hash index (migration 20261205_060000,
docs/postgres-write-path.md); downgrade puts the `(srn, id)` b-tree back. SQLite's
events keep their record-rowid index. Every claim, events-of-a-record and erasure test
runs against it, on both backends."""

from __future__ import annotations

import sqlalchemy as sa

from ingestry.adapters import migrate
from ingestry.migrations import HEAD
from tests.backends import Database

BEFORE = "20261205_050000"


def _definitions(db: Database) -> list[tuple[str, tuple[str, ...], str]]:
    """The events table's indexes: name, columns and method."""
    found = sa.inspect(db.engine).get_indexes("record_events")
    return sorted(
        (
            str(ix["name"]),
            tuple(str(c) for c in ix["column_names"]),
            str(ix.get("dialect_options", {}).get("postgresql_using", "btree")),
        )
        for ix in found
    )


def test_the_srn_index_is_a_hash_index_and_goes_back(db: Database) -> None:
    migrate.upgrade(db.engine, BEFORE)
    before = _definitions(db)
    db.execute(
        "INSERT INTO record_events (srn, convention, version, created_at)"
        " VALUES ('srn:ingestry:record:order:file:s:A', 'order', 1, '2026-12-04T00:00:00+00:00')"
    )
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD
    after = _definitions(db)
    if db.kind == "sqlite":
        assert after == before  # nothing changes there
    else:
        assert before == [("ix_record_events_srn", ("srn", "id"), "btree")]
        assert after == [("ix_record_events_srn", ("srn",), "hash")]
    assert db.rows("SELECT srn, version FROM record_events") == [
        ("srn:ingestry:record:order:file:s:A", 1)
    ]
    migrate.downgrade(db.engine, BEFORE)
    assert _definitions(db) == before
    migrate.upgrade(db.engine)
