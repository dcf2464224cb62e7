"""A column type is one row of the storage table plus its coercer: both complete."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from ingestry.adapters.sql.types import COLUMN_TYPES
from ingestry.domain.conventions import ColumnType
from ingestry.extract.coerce import COERCERS, coercer_for
from tests.contract.conftest import CONVENTION


def test_every_column_type_has_a_storage_row_and_a_coercer() -> None:
    assert set(COLUMN_TYPES) == set(ColumnType), "adapters/sql/types.py: COLUMN_TYPES"
    assert set(COERCERS) == set(ColumnType), "extract/coerce.py: COERCERS"


def test_the_contract_suite_stores_every_column_type() -> None:
    """So every row is exercised on every backend (tests/contract)."""
    assert {c.type for c in CONVENTION.columns} == set(ColumnType)


@pytest.mark.parametrize("column_type", list(ColumnType), ids=str)
def test_each_row_compiles_and_stages_on_every_backend(column_type: ColumnType) -> None:
    stored = COLUMN_TYPES[column_type]
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert stored.sql.compile(dialect=dialect)
    # staged as itself, or as text and cast in the server
    assert stored.staged in (stored.postgres, "text")
    assert stored.cast == ("" if stored.staged == stored.postgres else f"::{stored.postgres}")


@pytest.mark.parametrize("column_type", list(ColumnType), ids=str)
def test_what_the_coercer_stores_converts_for_binary_copy(column_type: ColumnType) -> None:
    """The coercer's storage-ready value is what `to_wire` takes."""
    samples = {
        ColumnType.TEXT: "a",
        ColumnType.INTEGER: 3,
        ColumnType.FLOAT: 1.5,
        ColumnType.DECIMAL: "1.50",
        ColumnType.BOOLEAN: True,
        ColumnType.TIMESTAMP: "2026-11-01T10:00:00Z",
        ColumnType.DATE: "2026-11-01",
        ColumnType.JSON: {"a": 1},
        ColumnType.GEOMETRY: {"type": "Point", "coordinates": [1, 2]},
    }
    value = coercer_for(column_type)(samples[column_type])
    convert = COLUMN_TYPES[column_type].to_wire
    wired = value if convert is None else convert(value)
    if column_type is ColumnType.DECIMAL:
        assert wired == Decimal("1.50") and str(wired) == "1.50"
    assert wired is not None
