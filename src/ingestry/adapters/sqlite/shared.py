"""A batch's shared values: bound once per statement, not once per row.

Most values of a batch's rows are the same for every row (a raw row's source, entity
type, header, received_at, extractor version, origin...: 8 of 12; a new record's source
type, upstream, data source, extractor version, version and times: 7 of 19). Python's
sqlite3 binds each value of each row, copying text: ~0.75k instructions a value. The
write path's INSERTs (`multirow`) bind them once for a statement of hundreds of rows
and select them for every row (docs/sqlite-write-path.md).

Only text, bytes and NULL are shared: a value equal to one of them is one of them,
while numbers compare equal across types (1, 1.0, True), so a "shared" number would
bind as the first row's type for every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import add, itemgetter
from typing import Any

_SHAREABLE = (str, bytes, type(None))


def shared_values(
    rows: Sequence[Sequence[Any]], positions: tuple[int, ...]
) -> tuple[Any, ...] | None:
    """The values at `positions`, when every row holds the same ones there and each is
    text, bytes or NULL; else None."""
    if not rows:
        return None
    pick: Callable[[Sequence[Any]], Any] = itemgetter(*positions)
    first = pick(rows[0])
    if len(positions) == 1:
        first = (first,)
        picked: list[Any] = [(v,) for v in map(pick, rows)]
    else:
        picked = list(map(pick, rows))
    if any(type(v) not in _SHAREABLE for v in first):  # exact types: a subclass may bind otherwise
        return None
    # tuple equality checks identity first: unmarshalled rows share their objects
    if picked.count(first) != len(picked):
        return None
    return tuple(first)


def own_values(rows: Iterable[Sequence[Any]], positions: tuple[int, ...]) -> Iterable[Any]:
    """Each row's values at `positions`, in order: the rows `multirow.insert_rows` binds."""
    return map(itemgetter(*positions), rows)


_OWN_HEAD = itemgetter(1, 2, 4, 5, 7)
_COLUMNS = itemgetter(8)


def own_record_values(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """A new record row's values its batch does not share (see the session's
    `_RECORD_SHARED`): source id, source, metadata, content hash, raw sha256, then its
    columns; built by C-level passes (the writer is the critical path), row by row
    where the columns are not a tuple."""
    try:
        return list(map(add, map(_OWN_HEAD, rows), map(_COLUMNS, rows)))
    except TypeError:
        return [(r[1], r[2], r[4], r[5], r[7], *r[8]) for r in rows]
