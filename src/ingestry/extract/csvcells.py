"""A part of a CSV block framed for the columnar path: the declared fields by column,
the rest as each row's metadata, no whole-row dicts.

`csvblocks._full_frames` builds each row's dict of every field, the columnar path
(`columnar.ColumnarPlan.drafts`) then looks the declared fields up in each dict and
pops them, leaving the metadata: on a narrow row of 19 fields (7 declared columns and
the id read), the dict and the pops cost the preparation worker ~11.6k instructions
a row (bench/README.md, "Cheaper identity adapters, and what else the writer
spends"). A `CellPart` takes the fields the plan reads by position, column by column,
and builds only the metadata dict. A row the columnar path cannot prove gets its
whole row back (`restore`) for the row path, which reads it as `_full_frames` would
have framed it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import compress, count, repeat
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from ingestry.extract.csvframes import row_of
from ingestry.extract.framing import Frame

_new: Any = tuple.__new__  # a Frame made without its Python-level __new__


class CellKeys(NamedTuple):
    """What a columnar plan reads of a row (`read`, its table's order) and what its
    draft leaves out of the metadata (`dropped`: the declared columns' fields; ids and
    entity type stay in the metadata, as the row path leaves them)."""

    read: tuple[str, ...]
    dropped: tuple[str, ...]


class CellPart(list[Frame]):
    """Frames whose row is the metadata (the fields outside `CellKeys.dropped`), with
    `table`: the cells of `CellKeys.read`, a tuple per key, an empty cell None (as
    `row_of` makes it)."""

    def __init__(
        self, frames: Iterable[Frame], table: list[tuple[Any, ...]], names: list[str],
        cells: list[list[str]],
    ) -> None:  # fmt: skip
        super().__init__(frames)
        self.table = table
        self._names = names
        self._cells = cells

    def restore(self, indexes: Iterable[int]) -> None:
        """Give the frames at `indexes` their whole row (for the row path)."""
        for k in indexes:
            frame = self[k]
            self[k] = Frame(frame.line, frame.payload, row_of(self._names, self._cells[k]))


def _getter(positions: Sequence[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """The cells at `positions` as a tuple (itemgetter's own for two or more)."""
    if len(positions) == 1:
        (only,) = positions
        return lambda cells: (cells[only],)
    return itemgetter(*positions)


@cache
def _metadata_template(names: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The canonical JSON of a metadata object of `names` as a %-template (keys sorted,
    as `jsonio.dumps` sorts them), and the names in that order."""
    order = tuple(sorted(names))
    keys = [orjson.dumps(name).decode().replace("%", "%%") for name in order]
    return "{" + ",".join(f'{key}:"%s"' for key in keys) + "}", order


def cell_part(
    first: int, payloads: list[bytes], cells: list[list[str]], names: list[str],
    keys: CellKeys, empty: bool = True, plain: bool = False,
) -> CellPart | None:  # fmt: skip
    """The part of rows that all have the header's width, or None when a key is not a
    column or a name repeats (then the whole-row dicts say what the row path says).
    `empty`: whether a cell may be empty (False: the block was searched for none).
    `plain`: every cell is its own JSON string's body (no quote, backslash or control
    character: `csvblocks` searched the block); then a row's metadata is its canonical
    JSON text already, filled into a template, not a dict for `orjson` to sort and
    write (~0.5 µs a narrow row)."""
    if len(set(names)) != len(names) or not set(keys.read) <= set(names):
        return None
    at = {name: n for n, name in enumerate(names)}
    dropped = set(keys.dropped)
    rest = [name for name in names if name not in dropped]
    table = list(zip(*map(_getter([at[k] for k in keys.read]), cells), strict=True))
    if not table:
        table = [() for _ in keys.read]
    blanks = list(compress(count(), map(operator.contains, cells, repeat("")))) if empty else []
    meta: list[Any]
    if plain and rest and not blanks:  # no empty cell: every value is text, none null
        template, order = _metadata_template(tuple(rest))
        meta = [template % values for values in map(_getter([at[k] for k in order]), cells)]
    elif rest:
        meta = list(map(dict, map(zip, repeat(rest), map(_getter([at[k] for k in rest]), cells))))
    else:
        meta = [{} for _ in cells]
    if blanks:
        for n in blanks:
            meta[n] = {k: (v if v != "" else None) for k, v in meta[n].items()}
        table = [tuple(None if v == "" else v for v in col) if "" in col else col for col in table]
    frames = map(_new, repeat(Frame), zip(count(first), payloads, meta, repeat(None)))
    return CellPart(frames, table, names, cells)
