"""Compressed inputs on both backends (issue 16, item 4): gzip, bz2 and zstd by magic
bytes or extension, streamed; raw payloads are the decompressed rows and the run
summary keeps the compressed file's name and sha256."""

from __future__ import annotations

import bz2
import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

import ingestry
from ingestry.domain.errors import InputError
from tests.backends import Database
from tests.integration.realfiles_support import project_with
from tests.integration.receipts_support import RECEIPTS

COLUMNS = {"station": {"type": "text", "required": True}, "temp": {"type": "float"}}
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
}
ROWS = b"station,temp\n" + b"".join(b"S%d,%d.5\n" % (n, n) for n in range(3000))


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_a_compressed_csv_is_read_streamed_with_its_container_hash(
    tmp_path: Path, db: Database, suffix: str
) -> None:
    config = project_with(tmp_path, db, {"format": "csv", "id": "station"}, COLUMNS)
    packed = COMPRESSORS[suffix](ROWS)
    path = tmp_path / f"in.csv.{suffix}"
    path.write_bytes(packed)
    with ingestry.open(config) as store:
        summary = store.ingest_files("messy", [path])
        assert (summary.records_created, summary.quarantined) == (3000, 0)
        assert summary.inputs == [
            {
                "file": str(path),
                "container": str(path),
                "container_sha256": hashlib.sha256(packed).hexdigest(),
                "compression": {"gz": "gzip", "bz2": "bz2", "zst": "zstd"}[suffix],
            }
        ]
        [raw] = store.raw("messy", "S7")
        assert raw.payload == b"S7,7.5"  # the decompressed row
        assert store.replay("messy").records_updated == 0


def test_magic_bytes_decide_whatever_the_name(tmp_path: Path, db: Database) -> None:
    config = project_with(tmp_path, db, {"format": "jsonl", "id": "station"}, COLUMNS)
    path = tmp_path / "in.jsonl"  # no .gz, gzip inside
    path.write_bytes(gzip.compress(b'{"station": "A", "temp": 1}\n{"station": "B"}\n'))
    with ingestry.open(config) as store:
        assert store.ingest_files("messy", [path]).records_created == 2


def test_a_compressed_json_document_at_a_path(tmp_path: Path, db: Database) -> None:
    source = {"format": "json", "id": "station", "records_path": "data.items"}
    config = project_with(tmp_path, db, source, COLUMNS)
    doc = (
        b'{"meta": {"items": [1]}, "data": {"n": 2, "items": [{"station": "A"}, {"station": "B"}]}}'
    )
    path = tmp_path / "in.json.bz2"
    path.write_bytes(bz2.compress(doc))
    with ingestry.open(config) as store:
        assert store.ingest_files("messy", [path]).records_created == 2
        assert store.raw("messy", "B")[0].payload == b'{"station": "B"}'


def test_a_name_promising_gzip_without_gzip_data_is_refused(tmp_path: Path, db: Database) -> None:
    config = project_with(tmp_path, db, {"format": "csv", "id": "station"}, COLUMNS)
    path = tmp_path / "in.csv.gz"
    path.write_bytes(ROWS)
    with ingestry.open(config) as store, pytest.raises(InputError, match="not gzip data"):
        store.ingest_files("messy", [path])


def test_corrupt_compressed_data_fails_naming_the_file(tmp_path: Path, db: Database) -> None:
    config = project_with(tmp_path, db, {"format": "csv", "id": "station"}, COLUMNS)
    path = tmp_path / "in.csv.gz"
    packed = gzip.compress(ROWS)
    path.write_bytes(packed[: len(packed) // 2])
    with ingestry.open(config) as store, pytest.raises(InputError, match=r"in\.csv\.gz"):
        store.ingest_files("messy", [path])


def test_every_receipt_of_a_compressed_file_names_it_and_its_sha256(
    tmp_path: Path, db: Database
) -> None:
    """The receipts table (branch receipts) takes the container's name and sha256 for
    every payload read out of it; a plain file's receipts leave them empty."""
    config = project_with(tmp_path, db, {"format": "csv", "id": "station"}, COLUMNS)
    packed = gzip.compress(ROWS)
    path = tmp_path / "in.csv.gz"
    path.write_bytes(packed)
    plain = tmp_path / "more.csv"
    plain.write_bytes(b"station,temp\nX1,1\n")
    with ingestry.open(config) as store:
        store.ingest_files("messy", [path, plain])
    rows = db.rows(f"SELECT container, container_sha256, origin FROM {RECEIPTS} r")
    assert len(rows) == 3001
    digest = hashlib.sha256(packed).digest()
    assert {(r[0], bytes(r[1]) if r[1] else None, r[2]) for r in rows} == {
        (str(path), digest, str(path)),
        (None, None, str(plain)),
    }


def test_a_compressed_file_changed_while_read_fails_the_run(tmp_path: Path) -> None:
    from ingestry.adapters.containers import Container

    path = tmp_path / "in.csv.gz"
    path.write_bytes(gzip.compress(ROWS))
    container = Container(path, "gzip")
    path.write_bytes(gzip.compress(ROWS + b"S9999,1\n"))
    with pytest.raises(InputError, match="changed while it was read"), container.open() as s:
        s.read()
