"""Column scans of a record table: the named columns of many records, page by page,
as one list per column, with no `Record` built on the way (issue 17: building a
Record per row was ~90% of a Parquet export's and a `query` view's time).

The SELECT is the record query's (`recordquery.page`: same filters, same order, same
keyset), with only the named columns in place of the whole record. Each backend
hands its decoders (`Decoders`): stored value -> the port's value, applied per column
with `map` over a page (one C-level loop per column instead of a Python call per
record). The values are what a `Record` would hold (Decimal, aware datetime, date,
bool...), except `source` and `metadata`, which arrive as canonical JSON text (what
`services.export.json_text` spells for them), so an export writes them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ingestry.adapters.sql import recordquery
from ingestry.adapters.sql.names import table_name
from ingestry.domain.conventions import ColumnSpec, Convention
from ingestry.domain.query import RecordQuery
from ingestry.domain.records import SRN_PREFIX
from ingestry.domain.records import spell_srn as _spell_srn
from ingestry.services.ports import SCAN_ENVELOPE

#: Stored value -> the port's value.
Decode = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class PageDecode:
    """A decoder of a page's whole column at once: one C-level check over the page
    (no escape mark in any value, say) lets the column pass as it is, where a `Decode`
    is a Python call per value."""

    decode: Callable[[list[Any]], list[Any]]


#: How a column is read: per value, per page, or as it comes (None).
Decoder = Decode | PageDecode | None

#: Upstreams and ids that `quote` leaves alone (checked for a whole page at once).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


@dataclass(frozen=True, slots=True)
class Decoders:
    """How one backend reads a record table's columns."""

    #: envelope name (not `srn`) -> (SQL expression, decoder)
    envelope: dict[str, tuple[str, Decoder]]
    #: a declared column -> (SQL expression, decoder)
    column: Callable[[ColumnSpec], tuple[str, Decoder]]
    #: the identity columns (source_type, upstream, source_id) as stored -> as in srns
    identity: Decoder = None


def plan(convention: Convention, names: Sequence[str], decoders: Decoders) -> list[tuple[str, Any]]:
    """(SQL expression, decoder) per name; `srn` is spelled from the identity and
    `convention` is the name (no SQL: the expression is empty, the decoder says which)."""
    out: list[tuple[str, Any]] = []
    for name in names:
        if name in ("srn", "convention"):
            out.append(("", name))
        elif name in SCAN_ENVELOPE:
            out.append(decoders.envelope[name])
        else:
            try:
                out.append(decoders.column(convention.column(name)))
            except KeyError:
                raise KeyError(f"{name!r} is no column of convention {convention.name!r}") from None
    return out


def statement(
    convention: Convention,
    query: RecordQuery,
    dialect: recordquery.Dialect,
    steps: list[tuple[str, Any]],
    after: recordquery.Key | None,
    limit: int | None,
) -> recordquery.Statement:
    """The record query's page with only these expressions (after its key columns)."""
    exprs = [sql for sql, _ in steps if sql] or ["1"]
    table = table_name(convention.name)

    def select(_: Convention, tail: str) -> str:
        return f'SELECT {", ".join(exprs)} FROM "{table}" {tail}'

    return recordquery.page(convention, query, replace(dialect, select=select), after, limit)


def columns_of(
    convention: Convention,
    rows: Sequence[tuple[Any, ...]],
    width: int,
    steps: list[tuple[str, Any]],
    identity: Decoder,
) -> list[list[Any]]:
    """A page of rows (key columns first, then the expressions) as decoded columns."""
    if not rows:
        return [[] for _ in steps]
    transposed = list(zip(*rows, strict=True))
    out: list[list[Any]] = []
    at = width
    for _, decode in steps:
        if decode == "srn":
            out.append(srns(convention.name, transposed[:3], identity))
            continue
        if decode == "convention":
            out.append([convention.name] * len(rows))
            continue
        values = transposed[at]
        at += 1
        if decode is None:
            out.append(list(values))
        elif isinstance(decode, PageDecode):
            out.append(decode.decode(list(values)))
        else:
            out.append([None if v is None else decode(v) for v in values])
    return out


def srns(convention: str, identity: Sequence[Sequence[Any]], decode: Decoder) -> list[str]:
    """The srns of a page's identities; quoted only when some id needs it."""
    types, upstreams, ids = identity
    if isinstance(decode, PageDecode):
        upstreams, ids = decode.decode(list(upstreams)), decode.decode(list(ids))
    elif decode is not None:
        upstreams, ids = [decode(u) for u in upstreams], [decode(i) for i in ids]
    if _UNRESERVED.fullmatch("".join(upstreams) + "".join(ids)):
        prefix = f"{SRN_PREFIX}{convention}:"
        return [f"{prefix}{t}:{u}:{i}" for t, u, i in zip(types, upstreams, ids, strict=True)]
    return [_spell_srn(convention, t, u, i) for t, u, i in zip(types, upstreams, ids, strict=True)]


def scan(
    rows: Callable[[recordquery.Statement], Iterator[Sequence[tuple[Any, ...]]]],
    convention: Convention,
    names: Sequence[str],
    query: RecordQuery,
    dialect: recordquery.Dialect,
    decoders: Decoders,
) -> Iterator[list[list[Any]]]:
    """Pages of columns from one statement; `rows` runs it and yields its rows in pages
    (SQLite: one cursor read with fetchmany)."""
    steps = plan(convention, names, decoders)
    width = recordquery.key_width(query)
    for page in rows(statement(convention, query, dialect, steps, None, None)):
        yield columns_of(convention, page, width, steps, decoders.identity)


def keyset_scan(
    rows: Callable[[recordquery.Statement], Sequence[tuple[Any, ...]]],
    convention: Convention,
    names: Sequence[str],
    query: RecordQuery,
    dialect: recordquery.Dialect,
    decoders: Decoders,
    page: int,
) -> Iterator[list[list[Any]]]:
    """Pages of columns, one keyset statement per page (PostgreSQL: no cursor or
    transaction held open between pages, depth costs nothing)."""
    steps = plan(convention, names, decoders)
    width = recordquery.key_width(query)
    key: recordquery.Key | None = None
    while True:
        got = rows(statement(convention, query, dialect, steps, key, page))
        if got:
            yield columns_of(convention, got, width, steps, decoders.identity)
        if len(got) < page:
            return
        key = tuple(got[-1][:width])


#: An exponent after a digit: `1e16`, `1.5e-7` (the writers, orjson and the standard
#: library, spell it lower case). The literal `e` first lets the regex engine skip to
#: each `e` (3x faster than a leading character class on 1 KB of metadata).
EXPONENT = re.compile(r"e(?<=[0-9]e)[-+]?[0-9]")


def json_passthrough(respell: Decode) -> Decode:
    """Stored canonical JSON text kept as it is unless a number in it may be spelled
    otherwise by the export (`respell`: parse and spell it again): an exponent, or a
    negative zero (`-0.0`). A false alarm (the same letters inside a string) only
    costs the respelling."""

    def decode(text: Any) -> Any:
        return respell(text) if "-0.0" in text or EXPONENT.search(text) else text

    return decode
