"""The compact receipts layout (migration 20261203_070000, docs/receipts.md): receipts
written in the old one-row-each layout read back identically after the upgrade, and
again after the downgrade, on every backend."""

from __future__ import annotations

from typing import Any

from ingestry.adapters import migrate
from ingestry.migrations import HEAD
from tests.backends import Database
from tests.integration.receipts_support import RECEIPTS

BEFORE = "20261203_060000"
COLUMNS = "id, raw_id, run_srn, received_at, origin, line, container, container_sha256"
RUN_A = "srn:ingestry:run:a"
RUN_B = "srn:ingestry:run:b"
AT_1 = "2026-11-01T10:00:00.123456+00:00"
AT_2 = "2026-11-02T11:30:00+00:00"
ZIP = bytes(range(32))

#: Two runs of two batches, a null run (backfilled), a container, null origins and
#: lines, one payload received twice in a batch, ids with a gap.
OLD_RECEIPTS: list[tuple[Any, ...]] = [
    (1, 10, RUN_A, AT_1, "a.jsonl", 1, None, None),
    (2, 11, RUN_A, AT_1, "a.jsonl", 2, None, None),
    (3, 10, RUN_A, AT_1, "a.jsonl", 3, None, None),
    (4, 12, RUN_A, AT_2, "b.csv", 1, None, None),
    (6, 10, RUN_B, AT_2, "rows.csv", 7, "rows.csv.gz", ZIP),
    (7, 13, RUN_B, AT_2, "rows.csv", 8, "rows.csv.gz", ZIP),
    (8, 14, None, AT_1, None, None, None, None),
    (9, 15, None, AT_1, "api", None, None, None),
    (10, 11, RUN_B, AT_2, "-", 1, None, None),
]


def _old_rows(db: Database) -> list[tuple[Any, ...]]:
    return _normal(db.rows(f"SELECT {COLUMNS} FROM raw_receipts ORDER BY id"))


def _new_rows(db: Database) -> list[tuple[Any, ...]]:
    return _normal(db.rows(f"SELECT {COLUMNS} FROM {RECEIPTS} r ORDER BY id"))


def _normal(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(*r[:7], None if r[7] is None else bytes(r[7])) for r in rows]


def test_receipts_read_back_identically_after_the_upgrade_and_the_downgrade(
    db: Database,
) -> None:
    migrate.upgrade(db.engine, BEFORE)
    for row in OLD_RECEIPTS:
        db.execute(
            f"INSERT INTO raw_receipts ({COLUMNS}) VALUES (:i, :raw, :run, :at, :origin, :line,"
            " :container, :csha)",
            i=row[0], raw=row[1], run=row[2], at=row[3], origin=row[4], line=row[5],
            container=row[6], csha=row[7],
        )  # fmt: skip
    if db.kind == "postgres":
        db.execute("SELECT setval('raw_receipts_id_seq', 11)")
    else:  # a receipt id 11 was handed out and deleted: never again
        db.execute("UPDATE sqlite_sequence SET seq = 11 WHERE name = 'raw_receipts'")
    before = _old_rows(db)
    assert len(before) == len(OLD_RECEIPTS)

    migrate.upgrade(db.engine)

    assert migrate.current(db.engine) == HEAD
    assert _new_rows(db) == before
    # one batch row per distinct (run, received_at, origin, container), in the order of
    # their first receipts
    assert db.count("raw_receipt_batches") == 6
    batches = db.rows("SELECT batch_id FROM raw_receipts ORDER BY id")
    assert [b for (b,) in batches] == sorted(b for (b,) in batches)
    db.execute(
        "INSERT INTO raw_receipts (raw_id, line, batch_id) VALUES (16, 1, 1)"
    )  # the next id goes on from the highest ever handed out
    assert db.scalar("SELECT max(id) FROM raw_receipts") == 12
    db.execute("DELETE FROM raw_receipts WHERE id = 12")

    migrate.downgrade(db.engine, BEFORE)

    assert "raw_receipt_batches" not in db.tables()
    assert _old_rows(db) == before
    migrate.upgrade(db.engine)
    assert _new_rows(db) == before
