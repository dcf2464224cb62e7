"""Port rows → rows for PostgreSQL: rounds, and U+0000 escaping (see `text`).

The hot loop of the PostgreSQL write path, so the common case is checked once per
batch, not per value: the batch's ids, texts and JSON are joined and scanned for
U+0000 and MARK in one C-level pass each. Only a batch that has one (or an id repeated
within it) takes the per-row path that escapes values and assigns rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingestry.adapters.postgres.text import MARK, escape_json, escape_text
from ingestry.adapters.sql.types import COLUMN_TYPES
from ingestry.domain.conventions import ColumnType, Convention
from ingestry.domain.records import spell_srn
from ingestry.services.ports import RawRow, RecordRow, RowTimes

_NUL = "\x00"
_JSON_NUL = "\\u0000"
_SEP = "\x1e"
#: Where the declared columns start in a staged row (after the nine envelope fields).
_COLUMNS = 9


def clean_text(values: Any) -> bool:
    """No U+0000 or MARK in any of the (str or None) values."""
    blob = _SEP.join(v for v in values if v is not None)
    return _NUL not in blob and MARK not in blob


def _clean_json(values: Any) -> bool:
    blob = _SEP.join(v for v in values if v is not None)
    return _JSON_NUL not in blob and MARK not in blob


def escaped_raw(rows: Sequence[RawRow]) -> Sequence[RawRow]:
    """The rows with their text fields escaped: the rows themselves when none needs it."""
    clean = (
        clean_text(r[2] for r in rows)
        and clean_text(r[1] for r in rows)
        and clean_text(r[9] for r in rows)
        and clean_text({r[11] for r in rows})
    )
    if clean:
        return rows
    return [
        (row[0], escape_text(row[1]), escape_text(row[2]), *row[3:9], _text(row[9]), row[10],
         _text(row[11]))
        for row in rows
    ]  # fmt: skip


def _text(value: str | None) -> str | None:
    return None if value is None else escape_text(value)


def _json(value: str | None) -> str | None:
    return None if value is None else escape_json(value)


def text_fields(convention: Convention) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Indexes of a convention's text columns and of its JSON-text columns."""
    text = tuple(i for i, c in enumerate(convention.columns) if c.type is ColumnType.TEXT)
    json = tuple(i for i, c in enumerate(convention.columns) if COLUMN_TYPES[c.type].json)
    return text, json


def record_stage_rows(
    convention: Convention,
    rows: Sequence[RecordRow],
    times: Sequence[RowTimes | None] | None = None,
) -> tuple[list[tuple[Any, ...]], list[int], bool]:
    """Staging rows, the size of each round, and whether the rows carry the tail
    (round, srn, published_at, updated_at).

    Fast path (identities unique in the batch, nothing to escape, no `times`): the flat
    row, envelope (upstream last) then columns; the tail takes its defaults (0, NULLs).
    Otherwise each row ends with its round (the n-th occurrence of an identity in the
    batch goes to round n), the srn where the id or upstream had to be escaped (SQL
    derives every other srn itself) and the row's import times, if any."""
    flat = [(*r[:8], r[9], *r[8]) for r in rows]
    text_idx, json_idx = text_fields(convention)
    unique = len({(r[0], r[9], r[1]) for r in rows}) == len(rows)
    clean = (
        clean_text(r[1] for r in rows)
        and clean_text({r[9] for r in rows})
        and _clean_json(r[2] for r in rows)
        and _clean_json(r[4] for r in rows)
        and all(clean_text(r[_COLUMNS + i] for r in flat) for i in text_idx)
        and all(_clean_json(r[_COLUMNS + i] for r in flat) for i in json_idx)
    )
    stamps = times or [None] * len(rows)
    if unique and clean:
        if times is None:
            return flat, [len(rows)], False
        return (
            [(*f, 0, None, *(t or _NO_TIMES)) for f, t in zip(flat, stamps, strict=True)],
            [len(rows)],
            True,
        )
    return _slow_rows(convention, rows, flat, stamps, text_idx, json_idx)


_NO_TIMES = (None, None)


def _slow_rows(
    convention: Convention,
    rows: Sequence[RecordRow],
    flat: list[tuple[Any, ...]],
    stamps: Sequence[RowTimes | None],
    text_idx: tuple[int, ...],
    json_idx: tuple[int, ...],
) -> tuple[list[tuple[Any, ...]], list[int], bool]:
    seen: dict[tuple[str, str, str], int] = {}
    sizes: list[int] = []
    out: list[tuple[Any, ...]] = []
    for row, values, stamp in zip(rows, flat, stamps, strict=True):
        key = (row[0], row[9], row[1])
        occurrence = seen.get(key)
        occurrence = 0 if occurrence is None else occurrence + 1
        seen[key] = occurrence
        if occurrence == len(sizes):
            sizes.append(1)
        else:
            sizes[occurrence] += 1
        cells = list(values)
        srn = None
        if not clean_text(key[1:]):
            srn = spell_srn(convention.name, *key)
            cells[1] = escape_text(row[1])
            cells[8] = escape_text(row[9])
        cells[2] = escape_json(row[2])
        cells[4] = escape_json(row[4])
        for i in text_idx:
            cells[_COLUMNS + i] = _text(cells[_COLUMNS + i])
        for i in json_idx:
            cells[_COLUMNS + i] = _json(cells[_COLUMNS + i])
        out.append((*cells, occurrence, srn, *(stamp or _NO_TIMES)))
    return out, sizes, True
