"""`ingestry query "SQL"`: read-only SQL over one view per convention.

Each view (named after its convention: `srn`, `version`, `published_at`, the declared
columns typed, `metadata` as JSON text) is fed from storage in keyset pages of
`PAGE` records, and only for the conventions the statement names (the engine's own
parser says which), so a query over one convention never reads another. Other names
(a Parquet file, `read_csv(...)`) are the engine's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.errors import NotPermittedError, QueryError
from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract.decimals import spell
from ingestry.services.ports import Storage
from ingestry.services.ports.analytics import QueryResult, SqlEngine, View, ViewColumn

#: Records per page read from storage (one keyset statement each).
PAGE = 10_000

#: Types a view keeps as text: documents (JSON text) and geometries.
AS_TEXT = frozenset({ColumnType.JSON, ColumnType.GEOMETRY})


def view_columns(convention: Convention) -> tuple[ViewColumn, ...]:
    """The view's columns: srn, version, published_at, the declared ones, metadata."""
    declared = tuple(_view_column(c) for c in convention.columns)
    return (
        ViewColumn("srn", ColumnType.TEXT),
        ViewColumn("version", ColumnType.INTEGER),
        ViewColumn("published_at", ColumnType.TIMESTAMP),
        *declared,
        ViewColumn("metadata", None),
    )


def _view_column(column: ColumnSpec) -> ViewColumn:
    if column.type in AS_TEXT:
        return ViewColumn(column.name, None)
    if column.type is ColumnType.DECIMAL and (column.scale is None or _wide(column)):
        return ViewColumn(column.name, None)  # the exact text: no scale to fix it to
    return ViewColumn(column.name, column.type, column.precision, column.scale)


def _wide(column: ColumnSpec) -> bool:
    return column.precision is not None and column.precision > 38


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return spell(value)
    return orjson.dumps(value, default=_json_default).decode()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(spell(value).encode())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _texts(values: Sequence[Any]) -> list[str | None]:
    return [_text(v) for v in values]


def pruned(
    columns: tuple[ViewColumn, ...], needed: frozenset[str] | None
) -> tuple[ViewColumn, ...]:
    """The columns a statement refers to (all when `needed` is None); when it names
    none (`count(*)`), `version` alone, so the view has a column to count rows by
    (`count(*)` over no columns would be 0): the cheapest to read (an integer, where
    `srn` is spelled per row)."""
    if needed is None:
        return columns
    kept = tuple(c for c in columns if c.name in needed)
    return kept or tuple(c for c in columns if c.name == "version")


def record_pages(
    storage: Storage,
    convention: Convention,
    page: int = PAGE,
    columns: tuple[ViewColumn, ...] | None = None,
) -> Callable[[], Iterator[list[Sequence[Any]]]]:
    """Pages of a convention's columns in srn order, read by a column scan (no Record
    per row: building them was ~90% of a count-by-day's time). Text-typed columns
    (JSON documents, exact decimals without a scale) become their text here;
    `metadata` arrives as JSON text already."""
    view = columns if columns is not None else view_columns(convention)
    names = [c.name for c in view]
    as_text = [c.type is None and c.name != "metadata" for c in view]

    def pages() -> Iterator[list[Sequence[Any]]]:
        for got in storage.scan_columns(convention, names, page=page):
            yield [
                _texts(values) if text else values
                for values, text in zip(got, as_text, strict=True)
            ]

    return pages


def _no_pages() -> Iterator[list[Sequence[Any]]]:
    return iter(())


class SqlQueryService:
    """Plans a statement's views and hands them to the engine."""

    def __init__(
        self,
        storage: Storage,
        conventions: Mapping[str, Convention],
        engine: SqlEngine,
        page: int = PAGE,
        readable: Iterable[str] | None = None,
        copy_file: Callable[[str], str] | None = None,
    ) -> None:
        """`readable`: the conventions the caller may query (None: all); a statement
        that names another one is refused (NotPermittedError) before anything runs."""
        self.storage = storage
        self.conventions = conventions
        self.engine = engine
        self.page = page
        self.readable = None if readable is None else frozenset(readable)
        #: the fresh Parquet copy of a convention, read instead of the store (`--copy`)
        self.copy_file = copy_file

    def views(self, sql: str) -> list[View]:
        """Views for the conventions the statement reads (QueryError if it writes)."""
        named = self.engine.tables(sql, self.conventions)
        read = {n: t for n, t in named.items() if n in self.conventions}
        if self.readable is not None and (hidden := sorted(set(read) - self.readable)):
            raise NotPermittedError(
                f"this API key may not query convention '{hidden[0]}' (a key may query "
                "a convention when it may use every source that feeds it)"
            )
        # a Parquet copy is pruned by DuckDB itself
        needed = self.engine.columns(sql) if read and self.copy_file is None else None
        views = []
        for name, times in sorted(read.items()):
            convention = self.conventions[name]
            if self.copy_file is not None:
                file = self.copy_file(name)
                views.append(View(name, view_columns(convention), _no_pages, file=file))
                continue
            columns = pruned(view_columns(convention), needed)
            pages = record_pages(self.storage, convention, self.page, columns)
            views.append(View(name, columns, pages, reread=times > 1))
        return views

    def run(self, sql: str, limit: int | None = None) -> QueryResult:
        """`limit`: at most that many rows are fetched (the statement is checked as
        given, then run inside `SELECT * FROM (…) LIMIT n`)."""
        views = self.views(sql)
        if limit is not None:
            body = sql.strip().rstrip(";")
            sql = f"SELECT * FROM (\n{body}\n) AS ingestry_result LIMIT {int(limit)}"
        return self.engine.run(sql, views)

    def arrow(self, sql: str) -> Any:
        return self.engine.arrow(sql, self.views(sql))


def result_documents(result: QueryResult) -> Iterator[bytes]:
    """Each result row as one JSON object (exact decimals as JSON numbers, timestamps
    as ISO text): what `--into SOURCE` ingests, one payload per row."""
    for row in result.rows:
        document = dict(zip(result.columns, row, strict=True))
        yield orjson.dumps(document, default=_json_default)


def check_into(source: DataSource) -> None:
    """Results go back only into a simple JSON source (re-derivable, the seed-003 loop)."""
    if source.is_raw or source.format not in (SourceFormat.JSON, SourceFormat.JSONL):
        raise QueryError(
            f"--into {source.name!r}: results are written back into a simple json or "
            f"jsonl source; {source.name!r} is {source.strategy.value} / "
            f"{source.format.value}. Declare one in ingestry.yaml (strategy: simple, "
            "format: jsonl, id: a result column)"
        )
