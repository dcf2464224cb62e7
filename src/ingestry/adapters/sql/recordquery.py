"""A `RecordQuery` as SQL, the same on SQLite and PostgreSQL but for a `Dialect`.

Order: the sort column (empty values last, in either direction), then identity
(`source_type, upstream, source_id`: the primary key, bytewise on both backends), so
the order is total and keyset pages never skip or repeat a record. A page starts after
a key: the identity of the last record read and, when sorted, its stored sort value.

A sorted page is two parts in that order, `UNION ALL`: the records with a value, from
the key on (`col >= v AND (col > v OR identity > k)`, ordered by `col, identity`),
then the empty tail (`col IS NULL`, by identity). Each part is one range of the sort
column's index, so a page reads about as many rows as it returns, at any depth; one
ORDER BY led by `(col IS NULL)` (what the order says in one expression) matches no
index, and every page sorted the whole table.
"""

from __future__ import annotations

from collections.abc import Callable
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
    #: whether a sorted page's two parts need an ORDER BY over their union: PostgreSQL
    #: does not promise `UNION ALL` keeps its parts' order (a parallel append may mix
    #: them), SQLite runs the parts one after the other and stops at the LIMIT
    order_union: bool = False


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
    if query.sort is not None:
        return _sorted_page(convention, query, dialect, after, limit)
    where, params = _conditions(convention, query, dialect)
    if after is not None:
        where.append(f"({IDENTITY}) > ({_marks(dialect, 3)})")
        params += list(after[:3])
    return _part(convention, dialect, IDENTITY, where, params, IDENTITY, limit)


#: A part's LIMIT when the page has none: a LIMIT keeps a FROM-clause subquery's
#: ORDER BY (SQLite drops one it may flatten); no store holds 2**63 records.
ALL = 2**63 - 1


def _sorted_page(
    convention: Convention,
    query: RecordQuery,
    dialect: Dialect,
    after: Key | None,
    limit: int | None,
) -> Statement:
    """The part with values from the key on, then the empty tail (see the module)."""
    assert query.sort is not None
    expr = _sort_expr(convention, query, dialect)
    way = " DESC" if query.sort.desc else ""
    beyond = "<" if query.sort.desc else ">"
    by_identity = ", ".join(f"{c}{way}" for c in IDENTITY.split(", "))
    prefix = f"{IDENTITY}, {expr}"
    where, params = _conditions(convention, query, dialect)
    tail = [*where, f"{expr} IS NULL"]
    if after is not None and after[3] is None:  # in the empty tail already
        tail.append(f"({IDENTITY}) {beyond} ({_marks(dialect, 3)})")
        return _part(convention, dialect, prefix, tail, [*params, *after[:3]], by_identity, limit)
    head, head_params = [*where, f"{expr} IS NOT NULL"], list(params)
    if after is not None:
        mark = dialect.mark
        head.append(f"{expr} {beyond}= {mark}")
        head.append(f"({expr} {beyond} {mark} OR ({IDENTITY}) {beyond} ({_marks(dialect, 3)}))")
        head_params += [after[3], after[3], *after[:3]]
    cap = ALL if limit is None else limit
    first = _part(
        convention, dialect, prefix, head, head_params, f"{expr}{way}, {by_identity}", cap
    )
    rest = _part(convention, dialect, prefix, tail, params, by_identity, cap)
    sql = f"SELECT * FROM ({first.sql}) AS head UNION ALL SELECT * FROM ({rest.sql}) AS tail"
    if dialect.order_union:  # by position: values first, empty last, then identity
        sql += f" ORDER BY 4{way} NULLS LAST, 1{way}, 2{way}, 3{way}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return Statement(sql, first.params + rest.params)


def _part(
    convention: Convention,
    dialect: Dialect,
    prefix: str,
    where: list[str],
    params: list[object],
    order: str,
    limit: int | None,
) -> Statement:
    tail = f"WHERE {' AND '.join(where)} " if where else ""
    tail += f"ORDER BY {order}"
    if limit is not None:
        tail += f" LIMIT {int(limit)}"
    sql = dialect.select(convention, tail).replace("SELECT ", f"SELECT {prefix}, ", 1)
    return Statement(sql, params)


def _marks(dialect: Dialect, n: int) -> str:
    return ", ".join(dialect.mark for _ in range(n))


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
