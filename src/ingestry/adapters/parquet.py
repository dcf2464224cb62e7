"""Parquet export files through pyarrow (the `parquet` extra): one row group per
batch the service hands over, so memory holds one batch whatever the export's size.
The file is written through the atomic writer: complete under its final name, or
absent."""

from __future__ import annotations

import json
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
        "geometry": pa.binary(),
    }
    return simple[kind]


#: GeoJSON's CRS (RFC 7946): WGS 84 longitude, latitude, as GeoParquet's PROJJSON.
CRS84: dict[str, Any] = {
    "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
    "type": "GeographicCRS",
    "name": "WGS 84 (CRS84)",
    "datum_ensemble": {
        "name": "World Geodetic System 1984 ensemble",
        "members": [
            {"name": "World Geodetic System 1984 (Transit)"},
            {"name": "World Geodetic System 1984 (G730)"},
            {"name": "World Geodetic System 1984 (G873)"},
            {"name": "World Geodetic System 1984 (G1150)"},
            {"name": "World Geodetic System 1984 (G1674)"},
            {"name": "World Geodetic System 1984 (G1762)"},
            {"name": "World Geodetic System 1984 (G2139)"},
        ],
        "ellipsoid": {
            "name": "WGS 84",
            "semi_major_axis": 6378137,
            "inverse_flattening": 298.257223563,
        },
        "accuracy": "2.0",
        "id": {"authority": "EPSG", "code": 6326},
    },
    "coordinate_system": {
        "subtype": "ellipsoidal",
        "axis": [
            {
                "name": "Geodetic longitude",
                "abbreviation": "Lon",
                "direction": "east",
                "unit": "degree",
            },
            {
                "name": "Geodetic latitude",
                "abbreviation": "Lat",
                "direction": "north",
                "unit": "degree",
            },
        ],
    },
    "scope": "Not known.",
    "area": "World.",
    "bbox": {
        "south_latitude": -90,
        "west_longitude": -180,
        "north_latitude": 90,
        "east_longitude": 180,
    },
    "id": {"authority": "OGC", "code": "CRS84"},
}


def geo_metadata(columns: Sequence[str]) -> bytes:
    """GeoParquet 1.0 file metadata: WKB columns in CRS84, the first one primary."""
    doc = {
        "version": "1.0.0",
        "primary_column": columns[0],
        "columns": {
            name: {"encoding": "WKB", "geometry_types": [], "crs": CRS84} for name in columns
        },
    }
    return json.dumps(doc).encode()


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
    geometries = [c.name for c in columns if c.kind == "geometry"]
    if geometries:
        schema = schema.with_metadata({b"geo": geo_metadata(geometries)})
    with atomic_file(directory / name) as sink:
        writer = pq.ParquetWriter(sink.stream, schema, compression="zstd")
        try:
            target = _Columns(writer, schema, sink, pa)
            yield target
        finally:
            writer.close()
