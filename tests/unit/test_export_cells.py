"""The cell rules of CSV and Parquet exports (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.provenance import HarvestSource
from ingestry.domain.records import Record
from ingestry.services.export_cells import (
    ExportError,
    parquet_batch,
    parquet_columns,
    undeclared_decimals,
    widen,
)

AT = datetime(2026, 12, 2, tzinfo=UTC)


def _convention(precision: int | None = None, scale: int | None = None) -> Convention:
    columns = (
        ColumnSpec("amount", ("amount",), ColumnType.DECIMAL, precision=precision, scale=scale),
        ColumnSpec("n", ("n",), ColumnType.INTEGER),
        ColumnSpec("doc", ("doc",), ColumnType.JSON),
    )
    return Convention("pay", columns)


def _record(amount: object = None, n: object = None, doc: object = None) -> Record:
    source = HarvestSource(id="P-1", harvest_run_srn="run", upstream_source="pay")
    columns = {"amount": amount, "n": n, "doc": doc}
    return Record("srn:pay:1", "pay", source, {}, columns, 1, AT, AT, "pay")


def test_a_declared_decimal_takes_its_precision_and_scale() -> None:
    columns = parquet_columns(_convention(12, 2), {})
    [amount] = [c for c in columns if c.name == "amount"]
    assert (amount.kind, amount.precision, amount.scale) == ("decimal", 12, 2)
    assert undeclared_decimals(_convention(12, 2)) == []


def test_a_value_that_would_round_is_an_error_naming_column_and_record() -> None:
    columns = parquet_columns(_convention(12, 2), {})
    assert parquet_batch(columns, [_record(Decimal("1.5"))])[9] == [Decimal("1.50")]
    with pytest.raises(ExportError, match=r"column 'amount' of srn:pay:1: 1\.505 does not fit"):
        parquet_batch(columns, [_record(Decimal("1.505"))])
    with pytest.raises(ExportError, match="decimal\\(12, 2\\)"):
        parquet_batch(columns, [_record(Decimal("12345678901.5"))])


def test_an_integer_past_64_bits_is_refused_never_rounded() -> None:
    columns = parquet_columns(_convention(), {})
    with pytest.raises(ExportError, match=r"column 'n' of srn:pay:1: .* does not fit int64"):
        parquet_batch(columns, [_record(n=2**63)])
    doc = parquet_batch(columns, [_record(doc={"big": 10**29})])[-2]
    assert doc == ['{"big":100000000000000000000000000000}']  # json: exact text


@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=6), min_size=1))
def test_the_largest_shape_seen_holds_every_value_exactly(values: list[Decimal]) -> None:
    """Any sequence of decimals: the shape widened over them fits every one unrounded."""
    conv = _convention()
    shapes: dict[str, tuple[int, int]] = {}
    records = [_record(v) for v in values]
    for record in records:
        widen(shapes, ["amount"], record)
    columns = parquet_columns(conv, shapes)
    written = parquet_batch(columns, records)[9]
    assert written == values
