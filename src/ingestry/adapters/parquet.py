"""Parquet export files through pyarrow (the `parquet` extra): one row group per
batch the service hands over, so memory holds one batch whatever the export's size.
The file is written through the atomic writer: complete under its final name, or
absent."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingestry.adapters.export import atomic_file
from ingestry.domain.errors import InputError
from ingestry.services.ports import ExportColumn


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - the extra is part of dev and all
        raise InputError("Parquet export needs pyarrow: pip install 'ingestry[parquet]'") from None
    return pa, pq


def arrow_type(pa: Any, column: ExportColumn) -> Any:
    """The Arrow type of an export column (decimal256 past 38 digits)."""
    kind = column.kind
    if kind == "decimal":
        precision, scale = column.precision or 1, column.scale or 0
        make = pa.decimal128 if precision <= 38 else pa.decimal256
        return make(precision, scale)
    simple = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }
    return simple[kind]


class _Columns:
    def __init__(self, writer: Any, schema: Any, sink: Any, pa: Any) -> None:
        self.writer, self.schema, self.sink, self.pa = writer, schema, sink, pa

    def write(self, columns: Sequence[Sequence[Any]]) -> None:
        pa = self.pa
        arrays = [
            pa.array(values, type=field.type)
            for values, field in zip(columns, self.schema, strict=True)
        ]
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def rename(self, name: str) -> None:
        self.sink.rename(name)


@contextmanager
def parquet_file(directory: Path, name: str, columns: Sequence[ExportColumn]) -> Iterator[_Columns]:
    """A Parquet file of these columns in `directory`, zstd-compressed."""
    pa, pq = _pyarrow()
    schema = pa.schema([pa.field(c.name, arrow_type(pa, c)) for c in columns])
    with atomic_file(directory / name) as sink:
        writer = pq.ParquetWriter(sink.stream, schema, compression="zstd")
        try:
            target = _Columns(writer, schema, sink, pa)
            yield target
        finally:
            writer.close()
