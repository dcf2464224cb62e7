"""PostgreSQL: new records' changes-feed rows come from the statements that insert them
(`adapters/postgres/feed.py`, migration 20261205_020000), not from an insert trigger.

Every path `Writer.upsert_records` takes for new records (the staged insert, the direct
COPY of row tuples, the direct COPY of a preparation worker's wire) writes exactly one
change per new record, version 1, in the inserting transaction; updates still come from
the update trigger; and a store made before the change loses its insert triggers on
upgrade (no change written twice) and gets them back on downgrade.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingestry.adapters import migrate
from ingestry.adapters.postgres import PostgresStorage
from ingestry.adapters.postgres.wire import WireEncoder
from ingestry.services.ports import RecordRow
from tests.backends import Database
from tests.contract.conftest import CONVENTION, LATER, NOW, record_row

pytestmark = pytest.mark.postgres

BEFORE = "20261205_010000"  # the revision before the writer fed new records itself


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def storage(db: Database) -> Iterator[PostgresStorage]:
    opened = PostgresStorage(db.url)
    try:
        opened.prepare([CONVENTION], auto_upgrade=True)
        yield opened
    finally:
        opened.close()


def _changes(db: Database) -> list[tuple[int, int, int]]:
    """(xid, record id, version) of every change, in feed order."""
    rows = db.rows("SELECT xid, record_id, version FROM record_changes ORDER BY xid, seq")
    return [(int(x), int(r), int(v)) for x, r, v in rows]


def _records(db: Database) -> dict[str, tuple[int, int]]:
    rows = db.rows("SELECT source_id, id, version FROM records_thing")
    return {str(s): (int(i), int(v)) for s, i, v in rows}


def _triggers(db: Database) -> list[str]:
    rows = db.rows(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'records_thing'::regclass"
        " AND NOT tgisinternal ORDER BY tgname"
    )
    return [str(name) for (name,) in rows]


def _write(storage: PostgresStorage, rows: list[RecordRow], wire: bool = False) -> None:
    encoded = WireEncoder(CONVENTION)([], rows) if wire else None
    if wire:
        assert encoded is not None and "records" in encoded  # the direct wire path
    with storage.session() as session:
        session.upsert_records(CONVENTION, rows, NOW, encoded)


def test_every_insert_path_feeds_each_new_record_once(
    storage: PostgresStorage, db: Database
) -> None:
    # the first batch takes the staged insert; a batch of only new records makes the
    # next one a direct COPY (of tuples, then of the wire); a known key sends a direct
    # COPY back to the staged path, whose update is the trigger's
    _write(storage, [record_row(f"S-{n}") for n in range(3)])
    _write(storage, [record_row(f"D-{n}") for n in range(3)])
    _write(storage, [record_row(f"W-{n}") for n in range(3)], wire=True)
    _write(storage, [record_row("S-0", label="changed"), record_row("N-0")])
    records = _records(db)
    changes = _changes(db)
    assert sorted((r, v) for _, r, v in changes) == sorted(
        [(i, 1) for i, _ in records.values()] + [(records["S-0"][0], 2)]
    )
    assert len({x for x, _, _ in changes}) == 4  # one transaction per batch
    # within a transaction the feed's order is the records' id order
    assert [r for _, r, v in changes if v == 1] == sorted(i for i, _ in records.values())
    assert _triggers(db) == ["records_thing_changes_upd"]


def test_a_direct_copy_refused_for_a_known_key_writes_no_change_twice(
    storage: PostgresStorage, db: Database
) -> None:
    _write(storage, [record_row("A")])
    _write(storage, [record_row("B")])  # now direct
    with storage.session() as session:  # direct refused (A exists): staged, A unchanged
        result = session.upsert_records(CONVENTION, [record_row("C"), record_row("A")], LATER)
    assert (result.created, result.unchanged) == (1, 1)
    ids = _records(db)
    assert sorted(r for _, r, _ in _changes(db)) == sorted(i for i, _ in ids.values())


def test_a_store_with_insert_triggers_loses_them_on_upgrade(
    storage: PostgresStorage, db: Database
) -> None:
    migrate.downgrade(db.engine, BEFORE)  # as such a store was: an insert trigger
    assert _triggers(db) == ["records_thing_changes_ins", "records_thing_changes_upd"]
    migrate.upgrade(db.engine)
    assert _triggers(db) == ["records_thing_changes_upd"]
    gone = "SELECT to_regprocedure(current_schema() || '.ingestry_changes_inserted()') IS NULL"
    assert db.scalar(gone)
    _write(storage, [record_row(f"U-{n}") for n in range(4)])
    ids = sorted(i for i, _ in _records(db).values())
    assert [r for _, r, _ in _changes(db)] == ids  # once each, not twice
