"""A `RecordQuery` as SQL, the same on SQLite and PostgreSQL but for a `Dialect`.

Order: the sort column (empty values last, in either direction), then identity
(`source_type, upstream, source_id`: the primary key, bytewise on both backends), so
the order is total and keyset pages never skip or repeat a record. A page starts after
a key: the identity of the last record read and, when sorted, its stored sort value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingestry.adapters.sql.deletion import LIVE
from ingestry.adapters.sql.names import table_name
from ingestry.domain.conventions import ColumnSpec, Convention
from ingestry.domain.geometry import BBoxFilter
from ingestry.domain.query import Op, RecordQuery

IDENTITY = "source_type, upstream, source_id"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between backends."""

    #: the parameter placeholder (`?` or `%s`)
    mark: str
    #: the SQL expression a column is compared by for equality (`=`, `!=`, `in`)
    column: Callable[[ColumnSpec], str]
    #: the SQL expression a column is ordered by (sort, `<`, `>`, keyset pages)
    ordered: Callable[[ColumnSpec], str]
    #: a typed query value (storage-ready, as the coercers give it) → the bound value
    value: Callable[[ColumnSpec, object], object]
    #: `SELECT <envelope and columns> FROM <table> <tail>` as the backend reads records
    select: Callable[[Convention, str], str]
    #: the clause (and its parameters) that keeps records intersecting a box
    bbox: Callable[[Convention, BBoxFilter], tuple[str, list[object]]]
    #: the expression a data source filter tests (SQLite's `+data_source` keeps its
    #: index out of the plan: a whole source's scan walks the identity index instead)
    data_source: str = "data_source"


#: A page's start: identity of the last record read, then its sort value when sorted.
Key = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    params: list[object]


def page(
    convention: Convention,
    query: RecordQuery,
    dialect: Dialect,
    after: Key | None,
    limit: int | None,
) -> Statement:
    """The records of one page, each row prefixed with its key (identity, sort value)."""
    where, params = _conditions(convention, query, dialect)
    if after is not None:
        clause, more = _after(convention, query, dialect, after)
        where.append(clause)
        params += more
    tail = f"WHERE {' AND '.join(where)} " if where else ""
    tail += f"ORDER BY {_order(convention, query, dialect)}"
    if limit is not None:
        tail += f" LIMIT {int(limit)}"
    prefix = IDENTITY + (f", {_sort_expr(convention, query, dialect)}" if query.sort else "")
    sql = dialect.select(convention, tail).replace("SELECT ", f"SELECT {prefix}, ", 1)
    return Statement(sql, params)


def key_width(query: RecordQuery) -> int:
    """How many leading columns of a `page` row are its key."""
    return 4 if query.sort else 3


def key_of(convention: Convention, query: RecordQuery, dialect: Dialect) -> Statement:
    """The key of one record, by its identity (three parameters to bind)."""
    sort = f", {_sort_expr(convention, query, dialect)}" if query.sort else ""
    mark = dialect.mark
    return Statement(
        f'SELECT {IDENTITY}{sort} FROM "{table_name(convention.name)}" '
        f"WHERE ({IDENTITY}) = ({mark}, {mark}, {mark})",
        [],
    )


def count(convention: Convention, query: RecordQuery, dialect: Dialect) -> Statement:
    where, params = _conditions(convention, query, dialect)
    tail = f" WHERE {' AND '.join(where)}" if where else ""
    return Statement(f'SELECT count(*) FROM "{table_name(convention.name)}"{tail}', params)


def matching(
    convention: Convention, query: RecordQuery, dialect: Dialect, columns: str
) -> Statement:
    """`columns` of every record the query matches, in no order (a count that must look
    at the rows, e.g. an exact test the database cannot make)."""
    where, params = _conditions(convention, query, dialect)
    tail = f" WHERE {' AND '.join(where)}" if where else ""
    return Statement(f'SELECT {columns} FROM "{table_name(convention.name)}"{tail}', params)


def _conditions(
    convention: Convention, query: RecordQuery, dialect: Dialect
) -> tuple[list[str], list[object]]:
    # tombstones (soft-deleted records, docs/deleting.md) only when asked for
    clauses: list[str] = [] if query.include_deleted else [LIVE]
    params: list[object] = []
    for condition in query.conditions:
        column = convention.column(condition.column)
        equality = condition.op in (Op.EQ, Op.NE, Op.IN)
        expr = dialect.column(column) if equality else dialect.ordered(column)
        params += [dialect.value(column, v) for v in condition.values]
        if condition.op is Op.IN:
            marks = ", ".join(dialect.mark for _ in condition.values)
            clauses.append(f"{expr} IN ({marks})")
        else:
            clauses.append(f"{expr} {condition.op.value} {dialect.mark}")
    if query.bbox is not None:
        clause, more = dialect.bbox(convention, query.bbox)
        clauses.append(clause)
        params += more
    if query.data_sources:
        marks = ", ".join(dialect.mark for _ in query.data_sources)
        clauses.append(f"{dialect.data_source} IN ({marks})")
        params += list(query.data_sources)
    return clauses, params


def _sort_expr(convention: Convention, query: RecordQuery, dialect: Dialect) -> str:
    assert query.sort is not None
    return dialect.ordered(convention.column(query.sort.column))


def _order(convention: Convention, query: RecordQuery, dialect: Dialect) -> str:
    if query.sort is None:
        return IDENTITY
    way = " DESC" if query.sort.desc else ""
    expr = _sort_expr(convention, query, dialect)
    identity = ", ".join(f"{c}{way}" for c in IDENTITY.split(", "))
    return f"({expr} IS NULL), {expr}{way}, {identity}"


def _after(
    convention: Convention, query: RecordQuery, dialect: Dialect, key: Sequence[object]
) -> tuple[str, list[object]]:
    mark = dialect.mark
    identity = list(key[:3])
    after_identity = f"({IDENTITY}) > ({mark}, {mark}, {mark})"
    if query.sort is None:
        return after_identity, identity
    expr = _sort_expr(convention, query, dialect)
    beyond = "<" if query.sort.desc else ">"
    after_identity = f"({IDENTITY}) {beyond} ({mark}, {mark}, {mark})"
    value = key[3]
    if value is None:  # in the empty tail: only empty values, by identity
        return f"({expr} IS NULL AND {after_identity})", identity
    clause = f"({expr} {beyond} {mark} OR ({expr} = {mark} AND {after_identity}) OR {expr} IS NULL)"
    return clause, [value, value, *identity]
