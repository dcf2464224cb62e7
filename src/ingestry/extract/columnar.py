"""The columnar path of CSV extraction: a batch of rows → one list per column → each
column coerced in one pass; the row path (`Extractor.__call__`) only for the rows it
cannot prove.

Why: on narrow CSV rows the per-row generated extractor (a dict lookup, a null-marker
test, a required test and a coercer call per column, per row) was ~30% of an ingest
(docs/real-files.md, "Speed"). Here each column is read once from the batch's row
dicts and checked as a whole: a column whose every cell has the plain spelling is
converted with one C-level `map` (`int`, `float`, `date.fromisoformat`), otherwise
cell by cell with the row path's own coercer. A cell that fails, for any reason,
marks its row, and that row is extracted again by the compiled row extractor, which
raises the reason the row path always gave (row, column, marker): the columnar path
never produces an error text of its own, so the two paths cannot disagree on one.

The fast spellings are strict subsets of what the row coercers accept, chosen so the
result is the same value (a plain integer of at most 18 digits is `int(text)`; a
plain decimal is its own canonical text; an ISO date `YYYY-MM-DD` that `date`
accepts is its own `isoformat`). A Hypothesis test pins the two paths to the same
records and quarantine for generated CSVs with bad cells mixed in.

Eligible: CSV sources with a declarative extractor whose id, entity type and column
paths are single fields and that has no geometry (derived) columns; anything else
keeps the row path (`ColumnarPlan.of` returns None).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from itertools import compress, count, repeat
from operator import itemgetter
from typing import Any, cast

from ingestry.domain.conventions import ColumnType, Convention
from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract import coerce as co
from ingestry.extract.columncoerce import (
    FAIL,
    Cells,
    Coercion,
    column_coercion,
    has_fast_spelling,
)
from ingestry.extract.csvcells import CellKeys, CellPart

_new: Any = tuple.__new__  # a NamedTuple made without its Python-level __new__
_ROW = itemgetter(2)  # a Frame's row


class ColumnarPlan:
    """A convention compiled for the columnar path: per column its field, null markers,
    whether it is required, and its one-pass coercion."""

    def __init__(
        self,
        id_keys: Sequence[str],
        entity_key: str | None,
        entity_default: str,
        columns: Sequence[tuple[str, frozenset[str], bool, Coercion]],
        draft: Callable[..., Any],
    ) -> None:
        self.id_keys = tuple(id_keys)
        self.entity_key = entity_key
        self.entity_default = entity_default
        self.columns = tuple(columns)
        self.popped = tuple(dict.fromkeys(key for key, _, _, _ in self.columns))
        self._draft = draft
        # every field read, in order: ids, entity type, columns (itemgetter gives a
        # tuple only for two or more: a 1-tuple getter keeps the shape the same)
        self._keys = (*self.id_keys, *([entity_key] if entity_key else []),
                      *(key for key, _, _, _ in self.columns))  # fmt: skip
        getter = itemgetter(*self._keys)
        self._fields: Callable[[dict[str, Any]], tuple[Any, ...]] = (
            getter if len(self._keys) > 1 else (lambda row: (getter(row),))
        )
        self._blank: dict[str, Any] = dict.fromkeys(self._keys)
        #: the fields the plan reads (its table's order) and leaves out of the metadata
        self.keys = CellKeys(self._keys, self.popped)
        #: whether ingest takes this path by default (see `of`)
        self.worthwhile = True

    @classmethod
    def of(
        cls,
        source: DataSource,
        convention: Convention,
        coercers: Sequence[co.Coercer | None],
        markers: Sequence[frozenset[str]],
        draft: Callable[..., Any],
        python: object | None,
    ) -> ColumnarPlan | None:
        """The plan of an eligible source (see the module's doc), else None."""
        if source.format is not SourceFormat.CSV or python is not None:
            return None
        if any(len(p) != 1 for p in source.id_paths) or not source.id_paths:
            return None
        entity = source.entity_type_path
        if entity is not None and len(entity) != 1:
            return None
        columns = []
        fast = 0
        for col, coercer, nulls in zip(convention.columns, coercers, markers, strict=True):
            if col.derived is not None or col.type is ColumnType.GEOMETRY or coercer is None:
                return None
            if len(col.path) != 1:
                return None
            columns.append((col.path[0], nulls, col.required, column_coercion(col.type, coercer)))
            fast += has_fast_spelling(col.type, coercer)
        plan = cls(
            [p[0] for p in source.id_paths],
            entity[0] if entity else None,
            convention.name,
            columns,
            draft,
        )
        # mostly cell by cell, the columnar path's own passes are not paid back (a
        # format and decimal commas on 4 of 7 columns: ~4% over the row path)
        plan.worthwhile = fast >= len(columns) - fast
        return plan

    def drafts(self, rows: Sequence[dict[str, Any] | None]) -> list[Any]:
        """One Draft per row, or None where the row must take the row path (a framing
        error: no row; or any cell that is not proved). A row given a Draft has its
        declared fields popped, as the row path does: what is left is its metadata."""
        n = len(rows)
        bad = [r is None for r in rows]
        present = cast(
            Sequence[dict[str, Any]],
            [self._blank if r is None else r for r in rows] if True in bad else rows,
        )
        try:  # one C-level pass when every row has every field (one CSV header)
            table: Sequence[Sequence[Any]] = (
                list(zip(*map(self._fields, present), strict=True)) if self._keys else []
            )
        except KeyError:
            table = [tuple(r.get(k) for r in present) for k in self._keys]
        if not table:
            table = [(None,) * n for _ in self._keys]
        drafts, good = self._drafts(bad, present, table)
        for key in self.popped:  # C-level passes, no Python loop per row
            deque(map(dict.pop, good, repeat(key), repeat(None)), maxlen=0)
        return drafts

    def part_drafts(self, part: CellPart) -> list[Any]:
        """`drafts` of a part framed with this plan's `keys` (`csvcells`): its table
        read as is, its rows' dicts already the metadata; a row that takes the row path
        gets its whole row back."""
        bad = [False] * len(part)
        drafts, _ = self._drafts(bad, list(map(_ROW, part)), part.table)
        if True in bad:
            part.restore(compress(count(), bad))
        return drafts

    def _drafts(
        self, bad: list[bool], present: Sequence[Any], table: Sequence[Sequence[Any]]
    ) -> tuple[list[Any], Sequence[Any]]:
        """The drafts from the fields' cells by key (`table`), `bad` marked for rows the
        row path must take; with the rows given a draft. `present`: each row's metadata,
        a dict or already its JSON (a plain part's: `csvcells`)."""
        n = len(present)
        ids = table[: len(self.id_keys)]
        for cells in ids:
            if not all(cells):  # missing, null or empty (text or None): the row path names it
                for k, v in enumerate(cells):
                    if not v:
                        bad[k] = True
        sids: Sequence[Any] = (
            ids[0]
            if len(ids) == 1
            else ["|".join(p) if all(p) else "" for p in zip(*ids, strict=True)]
        )
        at = len(self.id_keys)
        if self.entity_key is not None:
            default = self.entity_default
            ents: Sequence[Any] = [v or default for v in table[at]]
            at += 1
        else:
            ents = [self.entity_default] * n
        values: list[Cells] = []
        for (_, nulls, required, coercion), cells in zip(self.columns, table[at:], strict=True):
            if nulls and not nulls.isdisjoint(cells):
                # a marker in a required column: the row path names it
                mark = FAIL if required else None
                cells = tuple(mark if v in nulls else v for v in cells)
            if required and None in cells:
                cells = tuple(FAIL if v is None else v for v in cells)
            out = coercion(list(cells))
            if not all(out) and FAIL in out:  # (FAIL is falsy)
                for k, v in enumerate(out):
                    if v is FAIL:
                        bad[k] = True
            values.append(out)
        rowwise = zip(*values, strict=True) if values else repeat((), n)
        drafts: list[Any] = list(
            map(_new, repeat(self._draft, n), zip(sids, ents, rowwise, present, strict=True))
        )
        good = present
        if True in bad:
            drafts = [None if b else d for d, b in zip(drafts, bad, strict=True)]
            good = [r for r, b in zip(present, bad, strict=True) if not b]
        return drafts, good
