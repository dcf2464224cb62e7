"""Receipts (issue 13 item 1): every arrival of a payload is recorded, `raw show` and
replay follow the latest receipt, on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingestry.adapters import migrate
from ingestry.adapters.files import open_inputs
from ingestry.adapters.migrate import HEAD
from ingestry.domain.records import record_srn
from ingestry.services.ingest import IngestService
from ingestry.store import Store
from tests.backends import Database
from tests.integration.receipts_support import RECEIPTS

SOURCE = "customer_orders"
PREVIOUS = "20261202_130000"


def order(ident: str, total: str = "10.00") -> dict[str, Any]:
    return {"id": ident, "type": "order", "created_at": "2026-11-01T10:00:00Z",
            "total_price": total, "customer": {"email": f"{ident.lower()}@x.org"}}  # fmt: skip


def write(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    return path


def _arrivals(db: Database) -> int:
    """Receipts, one per arrival (a receipt row may hold a span)."""
    return int(db.scalar(f"SELECT count(*) FROM {RECEIPTS} r"))


def ingest(store: Store, path: Path, batch_size: int = 5000) -> dict[str, Any]:
    source = store.source(SOURCE)
    extractor = store.extractor(source)
    service = IngestService(store.storage, lambda _: extractor, batch_size=batch_size)
    return service.ingest(source, open_inputs([str(path)], source.format)).as_dict()


def snapshot(db: Database) -> list[tuple[Any, ...]]:
    return db.rows(
        "SELECT source_id, version, content_hash, raw_sha256, updated_at FROM records_order"
        " ORDER BY source_id"
    )


def test_a_then_b_then_a_replay_follows_the_latest_receipt(
    store: Store, tmp_path: Path, db: Database
) -> None:
    """Failed on main: the third ingest left no trace of A, replay went back to B's
    content (records_updated 2) and `raw show --bytes` gave B's bytes."""
    a = write(tmp_path / "a.jsonl", [order("O-1"), order("O-2"), order("O-3")])
    b = write(tmp_path / "b.jsonl", [order("O-1", "11.00"), order("O-2", "22.00"), order("O-3")])
    ingest(store, a)
    ingest(store, b)
    third = ingest(store, a)
    assert (third["raw_stored"], third["raw_duplicates"], third["records_updated"]) == (0, 3, 2)
    before = snapshot(db)

    summary = store.replay(SOURCE)

    assert (summary.records_created, summary.records_updated) == (0, 0)
    assert snapshot(db) == before
    assert store.replay(SOURCE).records_updated == 0
    line = a.read_bytes().splitlines()[0]
    payloads = store.raw(SOURCE, "O-1")
    assert payloads[-1].payload == line  # what `raw show --bytes` writes
    assert (payloads[-1].receipts, payloads[-1].last_run_srn) == (2, third["run_srn"])
    assert (payloads[-1].last_origin, payloads[-1].last_line) == (str(a), 1)
    assert payloads[0].receipts == 1  # B's bytes, received once
    record = store.get(record_srn("order", "harvest", SOURCE, "O-1"))
    assert record is not None and str(record.columns["total"]) == "10.00"
    assert record.raw_sha256 == payloads[-1].sha256


def test_every_arrival_is_a_receipt_with_its_run_file_and_line(
    store: Store, tmp_path: Path, db: Database
) -> None:
    path = write(tmp_path / "a.jsonl", [order(f"O-{i}") for i in range(10)])
    first = ingest(store, path, batch_size=4)
    second = ingest(store, path, batch_size=4)
    assert (second["raw_stored"], second["raw_duplicates"]) == (0, 10)
    assert db.count("raw_payloads") == 10
    # batches written side by side (PostgreSQL's lanes) draw receipt ids interleaved:
    # only the receipts of one source id are in arrival order, and they are
    rows = db.rows(
        f"SELECT r.run_srn, r.origin, r.line, p.source_id FROM {RECEIPTS} r"
        " JOIN raw_payloads p ON p.id = r.raw_id ORDER BY p.source_id, r.id"
    )
    rows.sort(key=lambda r: (r[0] != first["run_srn"], r[2]))
    expected = [
        (run, str(path), n + 1, f"O-{n}") for run in (first["run_srn"], second["run_srn"])
        for n in range(10)
    ]  # fmt: skip
    assert rows == expected


def test_a_scanned_reingest_records_the_receipts_of_the_payloads_it_skips(
    store: Store, tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL skips no-op payloads before preparing them (services.rescan): they
    are receipts all the same (SQLite prepares everything; same expectations)."""
    monkeypatch.setenv("INGESTRY_WRITE_LANES", "1")
    path = write(tmp_path / "a.jsonl", [order(f"O-{i}") for i in range(14)])
    ingest(store, path, batch_size=4)
    again = ingest(store, path, batch_size=4)
    assert again["raw_duplicates"] == 14
    runs = db.rows(f"SELECT run_srn, count(*) FROM {RECEIPTS} r GROUP BY run_srn ORDER BY 1")
    assert sorted(runs) == sorted([(again["run_srn"], 14), (_run_of(db, "O-0", 0), 14)])
    lines = db.rows(
        f"SELECT r.line, r.origin, r.received_at IS NOT NULL, r.container FROM {RECEIPTS} r"
        " WHERE r.run_srn = :run ORDER BY r.id, r.k",
        run=again["run_srn"],
    )
    assert [n for (n, _, _, _) in lines] == list(range(1, 15))
    # the skipped ones' receipts come from the probe's own lookup (PostgreSQL)
    assert {row[1:] for row in lines} == {(str(path), True, None)}


def test_a_scanned_reingest_of_the_rows_in_another_order_keeps_their_raw_ids_and_lines(
    store: Store, tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-sent in another order, a batch's no-ops are not raw id = index + c: their
    receipts come from the probe's id list (PostgreSQL), each on its own line."""
    monkeypatch.setenv("INGESTRY_WRITE_LANES", "1")
    ids = [f"O-{i}" for i in range(14)]
    ingest(store, write(tmp_path / "a.jsonl", [order(i) for i in ids]), batch_size=4)
    shuffled = ids[::-1]
    again = ingest(store, write(tmp_path / "b.jsonl", [order(i) for i in shuffled]), batch_size=4)
    assert again["raw_duplicates"] == 14 and again["records_unchanged"] == 14
    rows = db.rows(
        f"SELECT p.source_id, r.line FROM {RECEIPTS} r JOIN raw_payloads p ON p.id = r.raw_id"
        " WHERE r.run_srn = :run ORDER BY r.id, r.k",
        run=again["run_srn"],
    )
    assert rows == [(ident, line) for line, ident in enumerate(shuffled, start=1)]
    (first,) = store.raw(SOURCE, "O-0")
    assert (first.receipts, first.line, first.last_line) == (2, 1, 14)
    assert store.replay(SOURCE).records_updated == 0


def _run_of(db: Database, source_id: str, nth: int) -> str:
    rows = db.rows(
        f"SELECT r.run_srn FROM {RECEIPTS} r JOIN raw_payloads p ON p.id = r.raw_id"
        " WHERE p.source_id = :sid ORDER BY r.id, r.k",
        sid=source_id,
    )
    return str(rows[nth][0])


def test_the_migration_backfills_one_receipt_per_raw_row_and_downgrade_drops_them(
    store: Store, tmp_path: Path, db: Database
) -> None:
    path = write(tmp_path / "a.jsonl", [order(f"O-{i}") for i in range(5)])
    ingest(store, path)
    ingest(store, path)
    assert _arrivals(db) == 10
    store.close()
    migrate.downgrade(db.engine, PREVIOUS)
    assert "raw_receipts" not in db.tables()
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD
    rows = db.rows(
        f"SELECT r.raw_id, r.run_srn, r.origin, r.line, p.origin, p.line FROM {RECEIPTS} r"
        " JOIN raw_payloads p ON p.id = r.raw_id ORDER BY r.id, r.k"
    )
    ids = [i for (i,) in db.rows("SELECT id FROM raw_payloads ORDER BY id")]
    assert [r[0] for r in rows] == ids
    assert all(r[1] is None and r[2:4] == r[4:6] for r in rows)


def test_a_mixed_batch_after_a_batch_of_duplicates_keeps_every_receipt_in_order(
    store: Store, tmp_path: Path, db: Database
) -> None:
    """After a batch of duplicates SQLite writes the next batch's receipts first (see
    `SQLiteSession.append_raw`); a batch that turns out to hold new rows is redone the
    general way, leaving exactly one receipt per row."""
    a = write(tmp_path / "a.jsonl", [order("M-1"), order("M-2")])
    mixed = write(tmp_path / "m.jsonl", [order("M-1"), order("M-3"), order("M-2", "5.00")])
    ingest(store, a)
    ingest(store, a)
    third = ingest(store, mixed)
    assert (third["raw_stored"], third["raw_duplicates"]) == (2, 1)
    rows = db.rows(
        f"SELECT p.source_id, r.line FROM {RECEIPTS} r JOIN raw_payloads p ON p.id = r.raw_id"
        " WHERE r.run_srn = :run ORDER BY r.id, r.k",
        run=third["run_srn"],
    )
    assert rows == [("M-1", 1), ("M-3", 2), ("M-2", 3)]
    assert _arrivals(db) == 7
    assert store.replay(SOURCE).records_updated == 0


AWKWARD = ["R-é☃", 'R-"quoted"', "R-back\\slash", "R-1", "R-tab\tid", "R-1"]


def _runs_receipts(db: Database, run: str) -> list[tuple[Any, ...]]:
    return db.rows(
        f"SELECT p.source_id, r.line FROM {RECEIPTS} r JOIN raw_payloads p ON p.id = r.raw_id"
        " WHERE r.run_srn = :run ORDER BY r.line, r.id",
        run=run,
    )


def test_a_reingest_finds_every_payload_by_key_whatever_its_id_spells(
    store: Store, tmp_path: Path, db: Database
) -> None:
    """A re-ingest's receipts are found by the payload's key (SQLite: one statement
    over a JSON array of the keys): ids with quotes, backslashes, tabs and non-ASCII
    letters, and a payload repeated in the file, each get their receipt."""
    path = write(tmp_path / "a.jsonl", [order(i) for i in AWKWARD])
    first = ingest(store, path, batch_size=2)
    again = [ingest(store, path, batch_size=2), ingest(store, path)]
    expected = [(ident, line) for line, ident in enumerate(AWKWARD, start=1)]
    assert _runs_receipts(db, first["run_srn"]) == expected
    for summary in again:
        assert (summary["raw_stored"], summary["raw_duplicates"]) == (0, len(AWKWARD))
        assert _runs_receipts(db, summary["run_srn"]) == expected
    assert _arrivals(db) == 3 * len(AWKWARD)


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL text cannot hold NUL
def test_a_reingest_finds_an_id_holding_nul_on_sqlite(
    store: Store, tmp_path: Path, db: Database
) -> None:
    """NUL inside an id: the receipts by key take the per-row statement (bound text)."""
    ids = ["N-\x00inside", "N-2"]
    path = write(tmp_path / "n.jsonl", [order(i) for i in ids])
    ingest(store, path)
    ingest(store, path)
    again = ingest(store, path)
    assert (again["raw_stored"], again["raw_duplicates"]) == (0, 2)
    assert _runs_receipts(db, again["run_srn"]) == [(ids[0], 1), (ids[1], 2)]
