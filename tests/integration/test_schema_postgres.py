"""The PostgreSQL schema: partitioned raw store, key table, types, plans, migrations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ingestry.adapters import migrate
from ingestry.adapters.postgres import PostgresStorage
from ingestry.adapters.sql.schema import metadata
from ingestry.adapters.sql.types import COLUMN_TYPES
from ingestry.migrations import HEAD
from tests.backends import Database
from tests.contract.conftest import CONVENTION, NOW, raw_row, record_row

pytestmark = pytest.mark.postgres


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


def test_schema_differs_from_the_metadata_only_in_the_raw_store(db: Database) -> None:
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    kinds = sorted(
        (d[0], f"{d[2]}.{d[3].name}" if d[0] == "add_column" else d[1].name) for d in diff
    )
    # the dedupe key lives in raw_keys (a partitioned table cannot have it as a unique index);
    # the window index ends with id, which SQLite's has implicitly (the rowid); the
    # receipts' (raw_id, id) index is their primary key here (migration 20261203_090000);
    # SQLite keys events by record rowid (`record_id`), PostgreSQL by srn (20261203_110000);
    # SQLite takes its events in from the changes feed by a cursor (20261206_010000)
    assert kinds == [
        ("add_column", "record_events.record_id"),
        ("add_constraint", "uq_raw_payloads_identity"),
        ("add_index", "ix_raw_payloads_source_received_at"),
        ("add_index", "ix_raw_receipts_raw_id"),
        ("add_index", "ix_record_events_record"),
        ("add_table", "outbox_cursor"),
        ("remove_index", "ix_raw_payloads_source_received_at"),
        ("remove_index", "ix_record_events_srn"),
        ("remove_table", "raw_keys"),
    ]


def test_raw_store_is_partitioned_by_month_on_demand(
    storage: PostgresStorage, db: Database
) -> None:
    assert db.scalar("SELECT pg_get_partkeydef('raw_payloads'::regclass)") == "RANGE (received_at)"
    rows = [
        raw_row("P-1", b"1", received_at="2026-11-30T23:59:59.999999+00:00"),
        raw_row("P-2", b"2", received_at="2026-12-01T00:00:00.000000+00:00"),
        raw_row("P-3", b"3", received_at="2027-01-15T08:00:00.000000+00:00"),
    ]
    with storage.session() as session:
        assert session.append_raw(rows, []) == 3
    with storage.session() as session:  # a strict run crossing into a new month
        session.append_raw([raw_row("P-4", b"4")], [])
        assert session.append_raw([raw_row("P-5", b"5", received_at=_month(2028, 2))], []) == 1
    placed = db.rows(
        "SELECT source_id, tableoid::regclass::text FROM raw_payloads ORDER BY source_id"
    )
    assert placed == [
        ("P-1", "raw_payloads_y2026m11"),
        ("P-2", "raw_payloads_y2026m12"),
        ("P-3", "raw_payloads_y2027m01"),
        ("P-4", "raw_payloads_y2026m11"),
        ("P-5", "raw_payloads_y2028m02"),
    ]
    assert db.count("raw_keys") == 5


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}-10T00:00:00.000000+00:00"


def test_partition_created_in_a_rolled_back_transaction_is_created_again(
    storage: PostgresStorage, db: Database
) -> None:
    with pytest.raises(RuntimeError), storage.session() as session:
        session.append_raw([raw_row("X-0", b"0")], [])
        session.append_raw([raw_row("X-1", b"1", received_at=_month(2030, 5))], [])
        raise RuntimeError("roll back")
    assert "raw_payloads_y2030m05" not in db.tables()
    with storage.session() as session:
        session.append_raw([raw_row("X-0", b"0")], [])
        assert session.append_raw([raw_row("X-1", b"1", received_at=_month(2030, 5))], []) == 1


def test_concurrent_writers_create_a_partition_once(db: Database) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        storage = PostgresStorage(db.url)
        try:
            storage.prepare([CONVENTION], auto_upgrade=True)
            with storage.session() as session:
                session.append_raw([raw_row(f"C-{n}", b"c", received_at=_month(2031, 3))], [])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            storage.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.scalar("SELECT version_num FROM alembic_version") == HEAD  # migrated once
    assert db.count("raw_payloads_y2031m03") == 6


def test_each_column_type_is_stored_as_its_postgres_type(
    storage: PostgresStorage, db: Database
) -> None:
    """The storage table's rows agree with themselves: the SQLAlchemy type makes the
    PostgreSQL type that binary COPY sends and casts go to."""
    for column in CONVENTION.columns:
        stored = db.scalar(
            "SELECT atttypid::regtype::text FROM pg_attribute"
            " WHERE attrelid = 'records_thing'::regclass AND attname = :name",
            name=column.name,
        )
        wanted = db.scalar(f"SELECT '{COLUMN_TYPES[column.type].postgres}'::regtype::text")
        assert stored == wanted, column


def test_records_use_real_types_and_a_bytewise_identity(
    storage: PostgresStorage, db: Database
) -> None:
    types = dict(
        db.rows(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'records_thing'"
        )
    )
    assert {k: types[k] for k in ("source", "metadata", "content_hash", "published_at")} == {
        "source": "jsonb",
        "metadata": "jsonb",
        "content_hash": "bytea",
        "published_at": "timestamp with time zone",
    }
    assert [types[c.name] for c in CONVENTION.columns] == [
        "text", "bigint", "double precision", "numeric", "boolean",
        "timestamp with time zone", "date", "jsonb", "jsonb",
        *["double precision"] * 8,  # the geometry's measures (docs/geo.md)
    ]  # fmt: skip
    collations = db.rows(
        "SELECT column_name, collation_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = 'records_thing'"
        " AND column_name IN ('source_type', 'source_id') ORDER BY column_name"
    )
    assert collations == [("source_id", "C"), ("source_type", "C")]
    assert "uq_records_thing_identity" in {
        c["name"] for c in sa.inspect(db.engine).get_unique_constraints("records_thing")
    }
    assert {"ix_records_thing_at", "ix_records_thing_data_source"} <= db.indexes("records_thing")


def test_batch_plans_probe_indexes_never_scan_the_table(
    storage: PostgresStorage, db: Database
) -> None:
    """Cost grows with the batch: every write statement reaches the big tables through
    an index, per staged row, never by scanning (or hashing) the whole table."""
    with storage.session() as session:
        rows = [raw_row(f"K-{i:06d}", b"%d" % i) for i in range(50_000)]
        session.append_raw(rows, [])
        session.upsert_records(CONVENTION, [record_row(f"K-{i:06d}") for i in range(50_000)], NOW)
    db.execute("ANALYZE records_thing")
    db.execute("ANALYZE raw_keys")
    raw = [raw_row(f"K-{i:06d}", b"new") for i in range(0, 50_000, 10)]
    batch = [record_row(f"K-{i:06d}", label="changed") for i in range(0, 50_000, 10)]
    plans = _plans(storage, raw, batch)
    assert len(plans) == 4
    for plan in plans:
        assert "Seq Scan on records_thing" not in plan, plan
        assert "Seq Scan on raw_keys" not in plan, plan
        assert "Hash" not in plan and "Merge" not in plan, plan
    for plan in plans[1:]:  # the raw claim has no join: ON CONFLICT probes per row
        assert "Index" in plan, plan


def _plans(storage: PostgresStorage, raw: list[Any], records: list[Any]) -> list[str]:
    """EXPLAIN of the batch statements for staged rows (then rolled back)."""
    from ingestry.adapters.postgres import probe
    from ingestry.adapters.postgres.raw import CLAIM, KEYS
    from ingestry.adapters.postgres.records import RecordSQL
    from ingestry.adapters.postgres.rows import record_stage_rows
    from ingestry.adapters.postgres.statements import BEGIN
    from ingestry.adapters.postgres.transaction import Transaction

    writer = storage._writer
    tx = Transaction(storage._conn, writer.on_begin, writer.on_end, BEGIN)
    sql = RecordSQL.of(CONVENTION)
    staged, _, full = record_stage_rows(CONVENTION, records)
    tx.begin()
    try:
        writer._fill(
            tx, KEYS, [(n, r[0], r[2], r[3], r[6], r[10], r[11]) for n, r in enumerate(raw)]
        )
        writer._fill(tx, sql.stage, staged, full)
        writer._fill(tx, probe.RECORD_PROBE, probe.record_keys(records))
        params = {"now": NOW, "round": 0}
        return [
            "\n".join(r[0] for r in storage._conn.execute(f"EXPLAIN {q}", params))
            for q in (CLAIM, sql.changed, sql.insert, sql.update)
        ]
    finally:
        tx.rollback()


def test_downgrade_removes_partitions_and_sequences(storage: PostgresStorage, db: Database) -> None:
    with storage.session() as session:
        session.append_raw([raw_row("D-1", b"1")], [])
    storage.downgrade("base")
    # record tables (made from the config at run time) go with the base revision
    assert db.tables() == set()
    leftovers = db.rows(
        "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
    )
    assert leftovers == []
    storage.upgrade()
    assert storage.schema_revision() == HEAD
