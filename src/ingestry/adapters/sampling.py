"""Read a sample of a file for `sources infer`: its format, compression, encoding and
delimiter, and rows (the first N plus a reservoir sample of the rest, seeded so the
same file gives the same proposal). Guessing types is `extract.inference`'s job.
"""

from __future__ import annotations

import codecs
import random
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ingestry.adapters.containers import Container, compression_of, inner_name
from ingestry.adapters.tables import parquet_table, xlsx_table
from ingestry.domain.conventions import join_path
from ingestry.domain.errors import InputError
from ingestry.domain.reading import CSVDialect, Reading
from ingestry.extract.csvframes import CSVFrames, sniff_delimiter
from ingestry.extract.jsonio import JSONError, loads
from ingestry.extract.proposal import FileFacts
from ingestry.extract.tabular import row_payload

FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".json": "json", ".geojson": "json", ".parquet": "parquet",
    ".pq": "parquet", ".xlsx": "xlsx",
}  # fmt: skip
#: Bytes looked at for the encoding and the delimiter.
HEAD_BYTES = 1 << 20
#: The largest JSON document read whole to find where its rows sit.
MAX_DOCUMENT = 256 << 20


@dataclass
class Sample:
    facts: FileFacts
    rows: list[Mapping[str, Any]]
    text_cells: bool
    delimiter: str = ","


class _Reservoir:
    """The first `first` items, then a uniform sample of `size` of the rest."""

    def __init__(self, first: int, size: int) -> None:
        self.first, self.size = first, size
        self.head: list[Any] = []
        self.pool: list[Any] = []
        self.seen = 0
        self._random = random.Random(16)

    def add(self, item: Any) -> None:
        self.seen += 1
        if len(self.head) < self.first:
            self.head.append(item)
            return
        rest = self.seen - self.first
        if len(self.pool) < self.size:
            self.pool.append(item)
        else:
            at = self._random.randrange(rest)
            if at < self.size:
                self.pool[at] = item

    @property
    def items(self) -> list[Any]:
        return self.head + self.pool


def sample_file(
    path: Path, first: int = 1000, reservoir: int = 1000, shown: str | None = None
) -> Sample:
    """The sample `sources infer` guesses from (`shown`: how the proposal names the
    file); InputError when the file cannot be read."""
    if not path.is_file():
        raise InputError(f"cannot read {path}: no such file")
    compression = compression_of(path)
    container = Container(path, compression) if compression else None
    name = inner_name(path) if compression else path.name
    fmt = FORMATS.get(Path(name).suffix.lower()) or _sniff_format(_open(path, container))
    shown = shown or str(path)
    keep = _Reservoir(first, reservoir)
    if fmt in ("parquet", "xlsx"):
        if container is not None:
            raise InputError(f"cannot read {path}: a compressed {fmt} file")
        if fmt == "parquet":
            names, rows = parquet_table(path, shown)
        else:
            names, rows = xlsx_table(path, None, shown)
        for _, cells in rows:
            keep.add(loads(row_payload(dict(zip(names, cells, strict=False)))))
        facts = FileFacts(shown, fmt, keep.seen, first, compression=compression)
        return Sample(facts, keep.items, text_cells=False)
    if fmt == "jsonl":
        with _open(path, container) as stream:
            for line in stream:
                if line.strip():
                    try:
                        doc = loads(line)
                    except JSONError:
                        continue
                    if isinstance(doc, dict):
                        keep.add(doc)
        facts = FileFacts(shown, fmt, keep.seen, first, compression=compression)
        return Sample(facts, keep.items, text_cells=False)
    if fmt == "json":
        with _open(path, container) as stream:
            data = stream.read(MAX_DOCUMENT + 1)
        if len(data) > MAX_DOCUMENT:
            raise InputError(f"{path}: a JSON document over {MAX_DOCUMENT:,} bytes (use jsonl)")
        try:
            doc = loads(data)
        except JSONError as exc:
            raise InputError(f"{path}: not JSON: {exc}") from None
        where, found = rows_of(doc)
        for row in found:
            keep.add(row)
        facts = FileFacts(shown, "json", keep.seen, first, compression=compression,
                          records_path=where)  # fmt: skip
        return Sample(facts, keep.items, text_cells=False)
    return _sample_csv(path, container, shown, compression, (first, reservoir))


def _sample_csv(
    path: Path,
    container: Container | None,
    shown: str,
    compression: str | None,
    sizes: tuple[int, int],
) -> Sample:
    with _open(path, container) as stream:
        head = stream.read(HEAD_BYTES)
    encoding = _encoding_of(head)
    text = head.decode("utf-16" if encoding == "utf-16" else encoding, "replace")
    delimiter = sniff_delimiter("\n".join(text.splitlines()[:200]))
    for attempt in (encoding, "auto"):
        reading = Reading(dialect=CSVDialect(delimiter=delimiter), encoding=attempt)
        keep = _Reservoir(*sizes)
        undecodable = False
        with _open(path, container) as stream:
            for frame in CSVFrames(stream, (), reading):
                if frame.row is not None:
                    keep.add(frame.row)
                elif frame.error and frame.error.startswith("not valid"):
                    undecodable = True
        if not undecodable or attempt != "utf-8":
            encoding = attempt
            break
        encoding = "auto"
    facts = FileFacts(shown, "csv", keep.seen, sizes[0], encoding=encoding,
                      delimiter=delimiter, compression=compression)  # fmt: skip
    return Sample(facts, keep.items, text_cells=True, delimiter=delimiter)


def _encoding_of(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _open(path: Path, container: Container | None) -> AbstractContextManager[BinaryIO]:
    return container.open() if container is not None else path.open("rb")


def _sniff_format(opened: AbstractContextManager[BinaryIO]) -> str:
    with opened as stream:
        head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        first = head.split(b"\n", 1)[0].strip()
        return "jsonl" if first.endswith(b"}") else "json"
    return "csv"


def rows_of(doc: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """Where the rows of a JSON document sit: the document (an array of objects), or
    the longest array of objects under its members (its dotted `records_path`)."""
    if isinstance(doc, list):
        return None, [r for r in doc if isinstance(r, dict)]
    best: tuple[str | None, list[dict[str, Any]]] = (None, [doc] if isinstance(doc, dict) else [])
    found = 0
    for where, value in _arrays(doc, ()):
        objects = [r for r in value if isinstance(r, dict)]
        if len(objects) > found:
            best, found = (join_path(where), objects), len(objects)
    return best


def _arrays(node: Any, where: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, list):
                yield (*where, str(key)), value
            elif isinstance(value, dict) and len(where) < 5:
                yield from _arrays(value, (*where, str(key)))
