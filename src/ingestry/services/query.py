"""Build a typed `RecordQuery` from what a user typed, against a convention's columns.

Only declared columns can be filtered and sorted: they are the record table's real,
typed (and, with `index: true`, indexed) columns; everything else sits in `metadata`.
Each value is typed by the column's own coercer, so `--where 'total>30'` compares
numbers, `--since 2024-01-01` a UTC timestamp, and a value that does not fit the column
is refused before anything is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.errors import InvalidCursorError, QueryError
from ingestry.domain.geometry import BBoxFilter, parse_bbox
from ingestry.domain.query import Condition, Op, RecordQuery, Sort, parse_where
from ingestry.domain.records import convention_of
from ingestry.extract.coerce import CoercionError, coercer_for

#: JSON documents and geometries have no order and no equality storage can index.
UNFILTERABLE = frozenset({ColumnType.JSON, ColumnType.GEOMETRY})
#: What `--since/--until` can range over.
TIME_TYPES = frozenset({ColumnType.TIMESTAMP, ColumnType.DATE})


def record_query(
    convention: Convention,
    where: Sequence[str] = (),
    *,
    since: str | None = None,
    until: str | None = None,
    time_column: str | None = None,
    sort: str | None = None,
    desc: bool = False,
    data_sources: Iterable[str] = (),
    bbox: str | None = None,
    geometry_column: str | None = None,
) -> RecordQuery:
    """The typed query; raises QueryError naming the filter and what to do."""
    conditions = [_condition(convention, text) for text in where]
    if since is not None or until is not None or time_column is not None:
        column = _time_column(convention, time_column)
        if since is not None:
            conditions.append(Condition(column.name, Op.GE, (_typed(column, since),)))
        if until is not None:
            conditions.append(Condition(column.name, Op.LT, (_typed(column, until),)))
    order = Sort(_filterable(convention, sort).name, desc) if sort is not None else None
    box = _bbox(convention, bbox, geometry_column) if bbox is not None else None
    return RecordQuery(tuple(conditions), order, tuple(sorted(data_sources)), box)


def _bbox(convention: Convention, text: str, name: str | None) -> BBoxFilter:
    """`--bbox` on the named geometry column, or on the convention's only one."""
    geometries = convention.geometry_columns
    if name is not None:
        if name not in convention.column_names:
            _filterable(convention, name)  # raises: not a declared column
        if convention.column(name).type is not ColumnType.GEOMETRY:
            raise QueryError(f"--geometry-column {name!r} is not a geometry column")
        return BBoxFilter(name, parse_bbox(text))
    if len(geometries) != 1:
        listed = ", ".join(c.name for c in geometries)
        raise QueryError(
            f"convention {convention.name!r} has no geometry column for --bbox"
            if not geometries
            else f"convention {convention.name!r} has several geometry columns ({listed}): "
            "name one with --geometry-column"
        )
    return BBoxFilter(geometries[0].name, parse_bbox(text))


def _condition(convention: Convention, text: str) -> Condition:
    name, op, texts = parse_where(text)
    column = _filterable(convention, name)
    return Condition(name, op, tuple(_typed(column, t) for t in texts))


def _filterable(convention: Convention, name: str) -> ColumnSpec:
    try:
        column = convention.column(name)
    except KeyError:
        declared = ", ".join(convention.column_names) or "none"
        raise QueryError(
            f"{name!r} is not a declared column of convention {convention.name!r} "
            f"(declared: {declared}); declare it under conventions.{convention.name}.columns "
            "in ingestry.yaml, then run 'ingestry replay SOURCE' to fill it from the "
            "stored payloads"
        ) from None
    if column.type in UNFILTERABLE:
        raise QueryError(
            f"column {name!r} is {column.type.value}: it cannot be filtered or sorted "
            "(declare the field inside it you need as a column of its own)"
        )
    return column


def _time_column(convention: Convention, name: str | None) -> ColumnSpec:
    if name is not None:
        column = _filterable(convention, name)
        if column.type not in TIME_TYPES:
            raise QueryError(f"--time-column {name!r} is {column.type.value}, not a timestamp")
        return column
    for column in convention.columns:
        if column.required and column.type is ColumnType.TIMESTAMP:
            return column
    raise QueryError(
        f"convention {convention.name!r} has no required timestamp column for "
        "--since/--until: name one with --time-column"
    )


def _typed(column: ColumnSpec, text: str) -> object:
    """The storage-ready value of `text` in `column` (decimals by their exact text, not
    rounded to the column's scale: a filter may name any number)."""
    try:
        return coercer_for(column.type, text_cells=True)(text)
    except CoercionError as exc:
        raise QueryError(f"{text!r} does not fit column {column.name!r}: {exc}") from None


def check_cursor(convention: str, after: str) -> None:
    """Refuse, before anything is read, a cursor that is no srn of the convention."""
    try:
        valid = convention_of(after) == convention
    except ValueError:
        valid = False
    if not valid:
        raise InvalidCursorError(
            f"{after!r} is not the srn of an {convention!r} record (start after the "
            f"last one read: srn:ingestry:record:{convention}:…)"
        )
