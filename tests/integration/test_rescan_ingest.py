"""A re-ingest that skips no-op payloads before preparing them (services.rescan) writes
exactly what preparing everything writes, on every backend (SQLite never skips, so
the same expectations hold for both)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingestry.adapters.files import open_inputs
from ingestry.domain.records import record_srn
from ingestry.services.ingest import IngestService
from ingestry.store import Store
from tests.backends import Database

SOURCE = "customer_orders"


def order(ident: str, total: str = "10.00") -> dict[str, Any]:
    return {"id": ident, "type": "order", "created_at": "2026-11-01T10:00:00Z",
            "total_price": total, "customer": {"email": f"{ident.lower()}@x.org"}}  # fmt: skip


def write(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    return path


def ingest(store: Store, path: Path) -> dict[str, Any]:
    """Ingest in batches of 4 (inline), so later batches of a re-ingest are scanned."""
    source = store.source(SOURCE)
    extractor = store.extractor(source)
    service = IngestService(store.storage, lambda _: extractor, batch_size=4)
    summary = service.ingest(source, open_inputs([str(path)], source.format)).as_dict()
    return {k: v for k, v in summary.items() if k not in ("seconds", "run_srn")}


@pytest.fixture(autouse=True)
def _one_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    """The skip counts below are those of batches written one after another. With two
    write lanes (PostgreSQL's default) the rescan policy hears of a batch a batch or
    two later, so that many more are prepared in full; test_lanes_ingest re-ingests
    through lanes."""
    monkeypatch.setenv("INGESTRY_WRITE_LANES", "1")


@pytest.fixture
def skipped(monkeypatch: pytest.MonkeyPatch, backend: str) -> list[int]:
    """How many payloads each probe found to be no-ops (PostgreSQL only)."""
    found: list[int] = []
    if backend == "postgres":
        from ingestry.adapters.postgres.session import PostgresSession

        probe = PostgresSession.unchanged_payloads

        def spy(self: PostgresSession, *args: Any) -> set[int]:
            result = probe(self, *args)
            found.append(len(result))
            return result

        monkeypatch.setattr(PostgresSession, "unchanged_payloads", spy)
    return found


def test_reingest_of_the_same_file_is_all_no_ops(
    store: Store, tmp_path: Path, backend: str, skipped: list[int]
) -> None:
    data = write(tmp_path / "a.jsonl", [order(f"O-{i}") for i in range(14)])
    first = ingest(store, data)
    assert first["raw_stored"] == first["records_created"] == 14
    again = ingest(store, data)
    assert again == {"source": SOURCE, "received": 14, "raw_stored": 0, "raw_duplicates": 14,
                     "records_created": 0, "records_updated": 0, "records_unchanged": 14,
                     "quarantined": 0, "duplicate_ids": 0}  # fmt: skip
    if backend == "postgres":
        # the file was read before (a re-send): every batch is scanned, from the first
        assert sum(skipped) == 14


def test_the_same_rows_in_a_file_never_read_start_in_full(
    store: Store, tmp_path: Path, backend: str, skipped: list[int]
) -> None:
    """Only an input name a recent run read starts the re-ingest scanning: a new file
    (new data, usually) is prepared in full until a batch turns out all no-ops."""
    docs = [order(f"O-{i}") for i in range(14)]
    ingest(store, write(tmp_path / "a.jsonl", docs))
    again = ingest(store, write(tmp_path / "b.jsonl", docs))
    assert (again["raw_duplicates"], again["records_unchanged"]) == (14, 14)
    if backend == "postgres":
        # the first two batches are prepared in full (the second is prepared before the
        # first is written: see services.supersede), the rest skipped
        assert sum(skipped) == 6


def test_changes_new_rows_and_repeated_ids_during_a_scanned_reingest(
    store: Store, tmp_path: Path, backend: str, skipped: list[int]
) -> None:
    originals = [order(f"O-{i}") for i in range(12)]
    ingest(store, write(tmp_path / "a.jsonl", originals))
    o4, o7 = order("O-4", "44.00"), order("O-7", "77.00")
    again = [
        *originals[0:4],  # all no-ops: the following batches are scanned
        o4, originals[5], originals[6], order("NEW-1"),
        o7, originals[7], originals[8], originals[9],  # O-7 changed, then back again
        originals[10], originals[11],
    ]  # fmt: skip
    summary = ingest(store, write(tmp_path / "b.jsonl", again))
    # O-7 twice in one batch: one record, the last occurrence (the original) wins
    assert summary == {"source": SOURCE, "received": 14, "raw_stored": 3, "raw_duplicates": 11,
                       "records_created": 1, "records_updated": 1, "records_unchanged": 11,
                       "quarantined": 0, "duplicate_ids": 1}  # fmt: skip
    history = store.history(record_srn("order", "harvest", "customer_orders", "O-7"))
    assert [(r.version, str(r.columns["total"])) for r in history] == [(1, "10.00")]
    assert store.get(record_srn("order", "harvest", "customer_orders", "O-4")).version == 2
    if backend == "postgres":
        # O-8..O-11 skipped (the first two batches are prepared in full); O-7's two
        # rows were prepared (repeated id)
        assert sum(skipped) == 4


def test_a_raw_row_gone_from_the_store_is_stored_again(
    store: Store, tmp_path: Path, db: Database, backend: str, skipped: list[int]
) -> None:
    """Raw rows may be purged while their records stay: a re-ingest stores them again."""
    data = write(tmp_path / "a.jsonl", [order(f"O-{i}") for i in range(8)])
    ingest(store, data)
    if backend == "postgres":
        db.execute("DELETE FROM raw_payloads WHERE source_id = 'O-6'")
        db.execute("DELETE FROM raw_keys WHERE source_id = 'O-6'")
    else:
        db.execute("DELETE FROM raw_payloads WHERE source_id = 'O-6'")
    summary = ingest(store, data)
    assert (summary["raw_stored"], summary["raw_duplicates"]) == (1, 7)
    assert summary["records_unchanged"] == 8
    assert [p.source_id for p in store.raw(SOURCE, "O-6")] == ["O-6"]


def test_a_deleted_record_sent_again_in_a_scanned_batch_comes_back(
    store: Store, tmp_path: Path, backend: str, skipped: list[int]
) -> None:
    """A soft-deleted record keeps its raw_sha256: the probe must not take the same bytes
    for a no-op, or a re-send would leave the record deleted."""
    docs = [order(f"O-{i}") for i in range(14)]
    ingest(store, write(tmp_path / "a.jsonl", docs))
    store.delete(record_srn("order", "harvest", SOURCE, "O-10"))
    again = ingest(store, write(tmp_path / "b.jsonl", docs))  # O-10: in a scanned batch
    assert again["records_unchanged"] == 13
    assert store.get(record_srn("order", "harvest", SOURCE, "O-10")).source.id == "O-10"
    if backend == "postgres":
        assert sum(skipped) == 5  # batches 3 and 4, less O-10
