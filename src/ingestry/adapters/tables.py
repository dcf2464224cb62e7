"""Parquet (pyarrow) and Excel `.xlsx` (openpyxl) files read as rows, streamed: a
Parquet file by record batches, a workbook in openpyxl's read-only mode.

Both libraries are optional extras; a missing one names its `pip install`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ingestry.domain.errors import InputError

#: Parquet rows converted to Python per record batch.
BATCH_ROWS = 10_000


def _missing(extra: str, package: str, name: str) -> InputError:
    return InputError(
        f"cannot read {name}: it needs {package}: pip install 'ingestry[{extra}]' "
        f"(from a checkout: pip install -e '.[{extra}]')"
    )


def parquet_table(path: Path, name: str) -> tuple[list[str], Iterator[tuple[int, Sequence[Any]]]]:
    """The column names and (row number, cells) of a Parquet file."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise _missing("parquet", "pyarrow", name) from None
    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid / OSError kinds
        raise InputError(f"cannot read {name}: not a Parquet file ({exc})") from None
    names = [str(n) for n in handle.schema_arrow.names]

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        number = 0
        for batch in handle.iter_batches(batch_size=BATCH_ROWS):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for cells in zip(*columns, strict=True):
                number += 1
                yield number, cells

    return names, rows()


def xlsx_table(
    path: Path, sheet: str | None, name: str
) -> tuple[list[str], Iterator[tuple[int, Sequence[Any]]]]:
    """The header (the sheet's first row) and (sheet row number, cells) of a workbook's
    sheet (`sheet`, else the first)."""
    try:
        import openpyxl
    except ImportError:
        raise _missing("xlsx", "openpyxl", name) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException
        raise InputError(f"cannot read {name}: not an .xlsx workbook ({exc})") from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        found = ", ".join(book.sheetnames)
        raise InputError(f"{name}: no sheet '{sheet}' (found: {found})")
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    lines = ws.iter_rows(values_only=True)
    header = next(lines, None) or ()
    names = ["" if c is None else str(c).strip() for c in header]

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            yield from enumerate(lines, 2)
        finally:
            book.close()

    return names, rows()
