"""Record queries: filters on declared columns, a time range, a sort, keyset paging.

A query is a value: entry points parse what the user typed (`--where 'dep_delay>30'`,
`?where=carrier in UA,AA`) with `parse_where`, the query service types each value by its
column (a filter on an undeclared field is refused: only declared columns are stored
as columns, and only they are indexed), and storage turns the value into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ingestry.domain.errors import QueryError
from ingestry.domain.geometry import BBoxFilter


class Op(StrEnum):
    """A comparison `--where` accepts (the spelling is the contract)."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"


#: `column op value`: the column is a declared name (no spaces or operator characters);
#: `in` needs spaces around it, so a column called `main` still parses.
_WHERE = re.compile(r"^\s*([^\s=!<>]+)\s*(!=|<=|>=|=|<|>|\s+in\s+)\s*(.*?)\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter; `values` are typed by the column (several for `in`, else one)."""

    column: str
    op: Op
    values: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Sort:
    """Order by a declared column, then by identity; empty values last either way."""

    column: str
    desc: bool = False


@dataclass(frozen=True, slots=True)
class RecordQuery:
    """What `records list` asks of storage beyond the convention."""

    conditions: tuple[Condition, ...] = ()
    sort: Sort | None = None
    #: only records from these data sources (a scoped API key); empty: every source
    data_sources: tuple[str, ...] = ()
    #: only records whose geometry intersects a box (`--bbox`, docs/geo.md)
    bbox: BBoxFilter | None = None
    #: soft-deleted records too, as their tombstone versions (docs/deleting.md)
    include_deleted: bool = False


#: A query that filters nothing and sorts by identity (what `records list` always did).
EVERYTHING = RecordQuery()


def parse_where(text: str) -> tuple[str, Op, list[str]]:
    """`'dep_delay>30'` → ('dep_delay', Op.GT, ['30']); `'carrier in UA,AA'` → two texts.

    The values stay text: the query service types them by the column they compare with.
    """
    match = _WHERE.match(text)
    if match is None:
        raise QueryError(
            f"cannot read the filter {text!r}: write COLUMN OP VALUE with OP one of "
            "= != < <= > >=, or 'COLUMN in A,B,C'"
        )
    column, op_text, value = match.groups()
    op = Op(op_text.strip())
    values = [v.strip() for v in value.split(",")] if op is Op.IN else [value]
    if op is Op.IN and not any(values):
        raise QueryError(f"the filter {text!r} lists no values after 'in'")
    return column, op, values


def missing_cursor(after: str) -> str:
    """The error of a sorted page asked to start after a record that does not exist."""
    return (
        f"no record {after!r} to start after: a sorted list goes on from a record it "
        "returned (its last srn)"
    )
