"""One index for the receipts on PostgreSQL (migration 20261203_090000,
docs/receipts.md): the primary key is (raw_id, id) and the separate (raw_id, id) index
is gone; SQLite keeps its rowid id and that index. Receipts written before read back
the same after the upgrade and the downgrade, ids go on from the highest ever handed
out, and the latest receipt of a payload is still found (`raw show`'s query)."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from ingestry.adapters import migrate
from ingestry.adapters.postgres.receipts import WRITTEN_RANGE_RECEIPTS, written_receipts
from ingestry.adapters.postgres.url import libpq_url
from ingestry.adapters.sql.rows import raw_with_receipts
from ingestry.migrations import HEAD
from ingestry.services.ports import Receipt
from tests.backends import Database
from tests.integration.receipts_support import RECEIPTS as ARRIVALS

BEFORE = "20261203_080000"
AT = "2026-11-01T10:00:00+00:00"
#: (id, raw_id, line): raw 10 received three times, the latest with id 5; raw 11 twice.
RECEIPTS = [(1, 10, 1), (2, 11, 2), (3, 10, 3), (4, 11, 1), (5, 10, 9)]


def _receipts(db: Database) -> list[tuple[int, int, int]]:
    rows = db.rows("SELECT id, raw_id, line FROM raw_receipts ORDER BY id")
    return [(int(i), int(r), int(n)) for i, r, n in rows]


def _keys(db: Database) -> tuple[list[str], set[str]]:
    inspector = sa.inspect(db.engine)
    primary = list(inspector.get_pk_constraint("raw_receipts")["constrained_columns"])
    return primary, {str(ix["name"]) for ix in inspector.get_indexes("raw_receipts")}


def _latest_line(db: Database, raw_id: int) -> int:
    sql = raw_with_receipts("raw_payloads p", "p.id = :raw")
    (row,) = db.rows(sql, raw=raw_id)
    return int(row[-1])


def test_receipts_keep_their_rows_ids_and_latest_through_the_upgrade_and_downgrade(
    db: Database,
) -> None:
    migrate.upgrade(db.engine, BEFORE)
    db.execute(
        "INSERT INTO raw_receipt_batches (id, run_srn, received_at, origin)"
        " VALUES (1, 'srn:ingestry:run:a', :at, 'a.jsonl')",
        at=AT,
    )
    if db.kind == "postgres":  # the raw store's month partition, as a write creates it
        db.execute(
            "CREATE TABLE raw_payloads_y2026m11 PARTITION OF raw_payloads"
            " FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')"
        )
    for raw_id in (10, 11):
        db.execute(
            "INSERT INTO raw_payloads (id, source, entity_type, source_id, sha256, payload,"
            " received_at, line) VALUES (:i, 's', 't', :sid, :sha, :p, :at, 1)",
            i=raw_id, sid=f"id-{raw_id}", sha=bytes([raw_id]) * 32, p=b"{}", at=AT,
        )  # fmt: skip
    for receipt_id, raw_id, line in RECEIPTS:
        db.execute(
            "INSERT INTO raw_receipts (id, raw_id, line, batch_id) VALUES (:i, :r, :n, 1)",
            i=receipt_id, r=raw_id, n=line,
        )  # fmt: skip
    if db.kind == "postgres":  # receipt 6 was handed out and deleted: never again
        db.execute("SELECT setval('raw_receipts_id_seq', 6)")
    else:
        db.execute("UPDATE sqlite_sequence SET seq = 6 WHERE name = 'raw_receipts'")
    before = _keys(db)
    assert before == (["id"], {"ix_raw_receipts_raw_id"})

    migrate.upgrade(db.engine)

    assert migrate.current(db.engine) == HEAD
    if db.kind == "postgres":
        assert _keys(db) == (["raw_id", "id"], set())
    else:  # the rowid table AUTOINCREMENT needs: unchanged
        assert _keys(db) == before
    assert _receipts(db) == RECEIPTS
    assert (_latest_line(db, 10), _latest_line(db, 11)) == (9, 1)
    db.execute("INSERT INTO raw_receipts (raw_id, line, batch_id) VALUES (11, 7, 1)")
    assert _receipts(db)[-1] == (7, 11, 7)
    assert _latest_line(db, 11) == 7

    migrate.downgrade(db.engine, BEFORE)

    assert _keys(db) == before
    assert _receipts(db) == [*RECEIPTS, (7, 11, 7)]
    db.execute("INSERT INTO raw_receipts (raw_id, line, batch_id) VALUES (10, 8, 1)")
    assert _receipts(db)[-1] == (8, 10, 8)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize(("ids", "by_range"), [([21, 22, 23, 24], True), ([24, 21, 23, 26], False)])
def test_a_direct_appends_receipts_read_its_rows_back_by_range_only_when_ids_run_on(
    db: Database, ids: list[int], by_range: bool
) -> None:
    """Drawn consecutively (one writer), a batch's ids are read back by range; with a
    gap (another writer drew in between) by the id list: receipts in row order alike."""
    migrate.upgrade(db.engine)
    db.execute(
        "CREATE TABLE raw_payloads_y2026m11 PARTITION OF raw_payloads"
        " FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')"
    )
    for n, raw_id in enumerate([*ids, 25]):  # 25: another writer's row
        db.execute(
            "INSERT INTO raw_payloads (id, source, entity_type, source_id, sha256, payload,"
            " received_at, line, origin) VALUES (:i, 's', 't', :sid, :sha, :p, :at, :n, 'a')",
            i=raw_id, sid=f"id-{raw_id}", sha=bytes([raw_id]) * 32, p=b"{}", at=AT, n=n + 1,
        )  # fmt: skip
    statement, params = written_receipts(ids, [AT], Receipt("srn:ingestry:run:a"))
    assert (statement == WRITTEN_RANGE_RECEIPTS) is by_range
    with psycopg.connect(libpq_url(db.url), autocommit=True) as conn:
        conn.execute(statement, params)
    rows = db.rows(f"SELECT raw_id, line, batch_id FROM {ARRIVALS} r ORDER BY id, k")
    assert [(r, n) for r, n, _ in rows] == sorted((i, n + 1) for n, i in enumerate(ids))
    assert {b for _, _, b in rows} == {int(db.scalar("SELECT id FROM raw_receipt_batches"))}
