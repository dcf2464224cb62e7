"""Parquet and Excel files as record sources on both backends (issue 16, item 4): each
row's payload is its canonical JSON, for `simple` and `raw` sources alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ingestry
from ingestry.domain.errors import InputError
from tests.backends import Database
from tests.integration.realfiles_support import project_with

COLUMNS: dict[str, Any] = {
    "code": {"type": "text", "required": True},
    "price": {"type": "decimal"},
    "seen": {"type": "timestamp"},
    "qty": {"type": "integer"},
}


def _parquet(path: Path) -> None:
    table = pa.table(
        {
            "code": ["A", "B", "C"],
            "price": pa.array([Decimal("12.50"), Decimal("0.10"), None], type=pa.decimal128(10, 2)),
            "seen": pa.array(
                [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)] * 3, type=pa.timestamp("us", "UTC")
            ),
            "qty": [1, None, 3],
        }
    )
    pq.write_table(table, path, row_group_size=2)


def _xlsx(path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "notes"
    first.append(["nothing", "here"])
    sheet = book.create_sheet("data")
    sheet.append(["code", "price", "seen", "qty"])
    sheet.append(["A", 12.5, datetime(2024, 1, 2, 3, 4, 5), 1])
    sheet.append([None, None, None, None])  # a blank row: skipped
    sheet.append(["B", "0,10", datetime(2024, 1, 2, 3, 4, 5), "NA"])
    book.save(path)


@pytest.mark.parametrize("strategy", ["raw", "simple"])
def test_parquet_rows_become_records_with_exact_decimals(
    tmp_path: Path, db: Database, strategy: str
) -> None:
    source = {"format": "parquet", "id": "code", "strategy": strategy}
    if strategy == "simple":
        source["rationale"] = "re-exported nightly"
    config = project_with(tmp_path, db, source, COLUMNS)
    path = tmp_path / "in.parquet"
    _parquet(path)
    with ingestry.open(config) as store:
        summary = store.ingest_files("messy", [path])
        assert (summary.records_created, summary.quarantined) == (3, 0)
        records = {r.source.id: dict(r.columns) for r in store.records("thing")}
        assert records["A"]["price"] == Decimal("12.50")
        assert format(records["B"]["price"], "f") == "0.10"
        assert records["A"]["seen"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert records["B"]["qty"] is None and records["C"]["price"] is None
        if strategy == "raw":
            [raw] = store.raw("messy", "A")
            assert raw.payload == (
                b'{"code":"A","price":12.50,"seen":"2024-01-02T03:04:05+00:00","qty":1}'
            )
            assert raw.line == 1
            assert store.replay("messy").records_updated == 0
        again = store.ingest_files("messy", [path])
        assert again.records_unchanged == 3 and again.records_updated == 0


def test_an_xlsx_sheet_with_spelling_options(tmp_path: Path, db: Database) -> None:
    source = {"format": "xlsx", "id": "code", "sheet": "data", "decimal": ","}
    config = project_with(tmp_path, db, source, COLUMNS)
    path = tmp_path / "in.xlsx"
    _xlsx(path)
    with ingestry.open(config) as store:
        summary = store.ingest_files("messy", [path])
        assert (summary.records_created, summary.quarantined) == (2, 0)
        records = {r.source.id: dict(r.columns) for r in store.records("thing")}
        assert records["A"]["price"] == Decimal("12.5")
        assert records["B"] == {
            "code": "B",
            "price": Decimal("0.10"),
            "seen": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            "qty": None,  # NA: a default null marker of a non-text column
        }
        [raw] = store.raw("messy", "B")
        assert raw.line == 4  # the sheet's row number
        assert store.replay("messy").records_updated == 0


def test_a_table_without_the_id_column_or_sheet_is_refused_whole(
    tmp_path: Path, db: Database
) -> None:
    config = project_with(tmp_path, db, {"format": "xlsx", "id": "code"}, COLUMNS)
    path = tmp_path / "in.xlsx"
    _xlsx(path)  # the first sheet has no `code`
    with ingestry.open(config) as store:
        with pytest.raises(InputError, match="header has no 'code'"):
            store.ingest_files("messy", [path])
        assert list(store.records("thing")) == []
    config = project_with(tmp_path, db, {"format": "xlsx", "id": "code", "sheet": "x"}, COLUMNS)
    with ingestry.open(config) as store, pytest.raises(InputError, match="no sheet 'x'"):
        store.ingest_files("messy", [path])
