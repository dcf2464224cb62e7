"""The outbox's srn index on PostgreSQL is a hash index (migration 20261205_060000,
docs/postgres-write-path.md); downgrade puts the `(srn, id)` b-tree back. SQLite's
events keep their record-rowid index. Every claim, events-of-a-record and erasure test
runs against it, on both backends."""

from __future__ import annotations

from ingestry.adapters import migrate
from ingestry.migrations import HEAD
from tests.backends import Database

BEFORE = "20261205_050000"


def _definitions(db: Database) -> list[str]:
    if db.kind == "sqlite":
        rows = db.rows(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'record_events'"
            " AND sql IS NOT NULL ORDER BY name"
        )
    else:
        rows = db.rows(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'record_events'"
            " AND indexname LIKE 'ix_%' ORDER BY indexname"
        )
    return [str(definition) for (definition,) in rows]


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
        assert [d.split(" USING ", 1)[1] for d in before] == ["btree (srn, id)"]
        assert [d.split(" USING ", 1)[1] for d in after] == ["hash (srn)"]
    assert db.rows("SELECT srn, version FROM record_events") == [
        ("srn:ingestry:record:order:file:s:A", 1)
    ]
    migrate.downgrade(db.engine, BEFORE)
    assert _definitions(db) == before
    migrate.upgrade(db.engine)
