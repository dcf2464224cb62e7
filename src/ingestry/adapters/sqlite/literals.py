"""A batch's shared values written into its INSERT as SQL literals, not bound per row.

Most values of a batch's rows are the same for every row (a raw row's source, entity
type, header, received_at, extractor version, origin...: 8 of 12; a new record's source
type, upstream, data source, extractor version, version and times: 7 of 19). Python's
sqlite3 binds each value of each row, copying text: ~0.75k instructions a value. Written
once into the statement as a literal, the value costs SQLite one opcode a row; the
statement is prepared once per batch (docs/sqlite-write-path.md).

A literal stores exactly what binding the value would (SQLite applies the column's
affinity to both alike). Only text, bytes and NULL are written so: a value equal to
one of them binds as it does, while numbers compare equal across types (1, 1.0, True).
Text with NUL or a lone surrogate has no literal either; such a batch takes the bound
statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any


def literal(value: object) -> str | None:
    """`value` as an SQLite literal that stores what binding it would, or None."""
    if value is None:
        return "NULL"
    if type(value) is str:  # exact types: a subclass may bind otherwise
        if "\x00" in value or not (value.isascii() or _encodes(value)):
            return None
        return "'" + value.replace("'", "''") + "'"
    if type(value) is bytes:
        return "X'" + value.hex() + "'"
    # numbers are left out: 1, 1.0 and True are equal, so a batch's "shared" number
    # could bind as another type than its first row's literal (the shared values of
    # the write path are texts, hashes and NULLs)
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: sqlite3 could not take the SQL
        return False
    return True


def shared_literals(
    rows: Sequence[Sequence[Any]], positions: tuple[int, ...]
) -> tuple[str, ...] | None:
    """The literals of the values at `positions`, when every row holds the same ones
    there and each has an exact literal; else None."""
    if not rows:
        return None
    pick: Callable[[Sequence[Any]], Any] = itemgetter(*positions)
    first = pick(rows[0])
    if len(positions) == 1:
        first = (first,)
        picked: list[Any] = [(v,) for v in map(pick, rows)]
    else:
        picked = list(map(pick, rows))
    # tuple equality checks identity first: unmarshalled rows share their objects
    if picked.count(first) != len(picked):
        return None
    literals = tuple(literal(v) for v in first)
    if any(text is None for text in literals):
        return None
    return literals  # type: ignore[return-value]


def own_values(rows: Iterable[Sequence[Any]], positions: tuple[int, ...]) -> Iterable[Any]:
    """Each row's values at `positions`, in order: the rows `multirow.insert_rows` binds."""
    return map(itemgetter(*positions), rows)
