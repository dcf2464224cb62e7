"""Inputs over in-memory payloads (Python API): JSON payloads, or rows of a CSV source."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from ingestry.domain.errors import InputError
from ingestry.extract.csvframes import CSVFrames, framed_csv
from ingestry.extract.framing import Frame
from ingestry.extract.jsonio import dumps


class PayloadInput:
    """Payloads given as bytes, str or JSON-able objects; objects are serialized once."""

    size: int | None = None
    header: tuple[bytes, bytes] | None = None

    def __init__(
        self, payloads: Iterable[Any], name: str = "<api>", error: str | None = None
    ) -> None:
        self.name = name
        self._payloads = payloads
        self._error = error  # every payload fails with it (a body kept whole)
        self.position = 0

    def frames(self) -> Iterator[Frame]:
        for number, payload in enumerate(self._payloads, 1):
            if isinstance(payload, bytes):
                data = payload
            elif isinstance(payload, str):
                data = payload.encode()
            else:
                data = _dumps(payload)
            self.position += len(data)
            yield Frame(number, data, None, self._error)


class CSVRowsInput:
    """Rows for a CSV source given as mappings (column → cell), written as the CSV file
    they stand for: a header line from the first row's keys, then one line per row.
    They are framed like that file, so raw rows keep CSV bytes with their header and a
    replay reads them back as it reads an uploaded file.

    A cell is text: str as is, None (or "") empty, numbers and booleans spelled as JSON
    does, objects and lists as JSON text (what a `json` column parses). Every row must
    have the first row's columns (in any order); anything else is refused (InputError)
    naming the row: a row's bytes alone say nothing without its header."""

    size: int | None = None

    def __init__(
        self, rows: Iterable[Any], source: str, required: tuple[str, ...], name: str = "<api>"
    ) -> None:
        self.name = name
        self._rows = rows
        self._source = source
        self._required = required
        self._csv: CSVFrames | None = None
        self.position = 0

    @property
    def header(self) -> tuple[bytes, bytes] | None:
        return self._csv.keyed_header if self._csv is not None else None

    def frames(self) -> Iterator[Frame]:
        self._csv = CSVFrames(self._lines(), self._required)
        yield from framed_csv(self._csv, self.name)

    def _lines(self) -> Iterator[bytes]:
        columns: list[str] | None = None
        for number, row in enumerate(self._rows, 1):
            if not isinstance(row, Mapping):
                raise InputError(
                    f"{self.name}: row {number} is {type(row).__name__}: the CSV source "
                    f"'{self._source}' takes rows as mappings (column → cell), or CSV "
                    "files through ingest_files"
                )
            if columns is None:
                columns = [str(k) for k in row]
                yield _line(columns)
            elif set(row) != set(columns):
                raise InputError(
                    f"{self.name}: row {number} has the columns {', '.join(map(str, row))}; "
                    f"row 1 has {', '.join(columns)} (one header per call)"
                )
            line = _line([_cell(row[c]) for c in columns])
            self.position += len(line)
            yield line


def _cell(value: Any) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool | int | float | dict | list):
        return dumps(value).decode()
    return str(value)  # Decimal, date, datetime: their usual text


def _line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().encode()


def _dumps(payload: Any) -> bytes:
    """A JSON-able object as compact JSON in its own key order; integers beyond 64 bits
    (which orjson refuses) through the standard library, exactly."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        try:
            return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            raise TypeError(f"payload is not JSON-able: {type(payload).__name__}") from None
