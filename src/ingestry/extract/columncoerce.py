"""How the columnar path (`columnar`) coerces one column's cells in one pass: C-level
passes for the plain spellings, the row path's coercer cell by cell otherwise; a cell
that fails is marked `FAIL`, and its row takes the row path."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

from ingestry.domain.conventions import ColumnType
from ingestry.extract import coerce as co
from ingestry.extract import shapes
from ingestry.extract.formats import FAST_SPELLINGS


class _Fail:
    """A cell the columnar path could not prove: its row takes the row path. Falsy, as
    None and "" are, so one C-level `all()` tells a column holding none of the three
    (most columns) and the scans for each (~20 ns a cell, a comparison that falls back
    to identity) run only where one may be."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "FAIL"


FAIL: Any = _Fail()
_M: Any = object()  # a key the row lacks

_INT = shapes.integers()
_FLOAT = shapes.characters("0123456789+-.eE")
_DECIMAL = shapes.pattern(shapes.DECIMAL)
_DATE = shapes.dates("-")
# the float and decimal shapes with a decimal comma: no point (the comma spelling
# refuses one), and with the comma made a point, the plain shapes above
_COMMA_FLOAT = shapes.characters("0123456789+-,eE")
_COMMA_DECIMAL = shapes.pattern(shapes.COMMA_DECIMAL)
_BOOLEANS = {
    spelled: value
    for words, value in ((co._TRUE, True), (co._FALSE, False))
    for word in words
    for spelled in (word, word.upper(), word.title())
}

Cells = list[Any]
Coercion = Callable[[Cells], Cells]


def _cellwise(coercer: co.Coercer) -> Coercion:
    """The row path's coercer, cell by cell; any exception marks the cell."""

    def run(cells: Cells) -> Cells:
        out: Cells = []
        append = out.append
        for v in cells:
            if v is None or v is FAIL:
                append(v)
                continue
            try:
                append(coercer(v))
            except Exception:
                append(FAIL)
        return out

    return run


def _texts(cells: Cells) -> list[str] | None:
    """The non-null cells when none failed (else None); CSV cells are text."""
    if all(cells):  # no None, no "", no FAIL: the common column
        return cells
    texts = [v for v in cells if v is not None] if None in cells else cells
    return None if FAIL in texts else texts


def _merge(cells: Cells, values: list[Any]) -> Cells:
    """`values` (one per non-null cell) put back in place of the non-null cells."""
    if len(values) == len(cells):
        return values
    it = iter(values)
    return [None if v is None else next(it) for v in cells]


def _shaped(
    proof: shapes.Proof, convert: Callable[[list[str]], list[Any] | None], slow: Coercion
) -> Coercion:
    """Every non-null cell proved plain (`shapes`) → `convert` of them all at once (None
    or a ValueError: not provable); otherwise the row coercer cell by cell."""

    def run(cells: Cells) -> Cells:
        texts = _texts(cells)
        if texts is not None and _all_proved(proof, texts):
            try:
                values = convert(texts)
            except ValueError:
                values = None
            if values is not None:
                return _merge(cells, values)
        return slow(cells)

    return run


def _all_proved(proof: shapes.Proof, texts: list[str]) -> bool:
    if not texts:
        return True
    text = shapes.joined(texts)
    return text is not None and proof(text, len(texts))


def _ints(texts: list[str]) -> list[Any]:
    return list(map(int, texts))


def _floats(texts: list[str]) -> list[Any] | None:
    values = list(map(float, texts))
    return values if all(map(math.isfinite, values)) else None


def _decimals(texts: list[str]) -> list[Any]:
    # plain spelling is canonical, but for a negative zero ("-0.00" → "0.00")
    return [t if t[0] != "-" or t.strip("-0.") else t[1:] for t in texts]


def _dates(texts: list[str]) -> list[Any] | None:
    try:
        for _ in map(date.fromisoformat, texts):
            pass
    except ValueError:
        return None
    return texts


def _replaced(texts: list[str], old: str, new: str) -> list[str]:
    """Each text with `old` made `new`, in C-level passes (a proved column's cells
    hold no newline)."""
    return "\n".join(texts).replace(old, new).split("\n") if texts else []


def _pointed(texts: list[str]) -> list[str]:
    return _replaced(texts, ",", ".")


def _comma_floats(texts: list[str]) -> list[Any] | None:
    return _floats(_pointed(texts))


def _comma_decimals(texts: list[str]) -> list[Any]:
    return _decimals(_pointed(texts))


def _separated_dates(separator: str) -> Callable[[list[str]], list[Any] | None]:
    """`%Y<sep>%m<sep>%d` cells of 4, 2 and 2 digits: their ISO text, when `date` takes
    every one (the pattern's reader accepts the same dates and writes that text)."""

    def convert(texts: list[str]) -> list[Any] | None:
        return _dates(_replaced(texts, separator, "-"))

    return convert


def _spelled(coercer: co.Coercer, slow: Coercion) -> Coercion | None:
    """The fast coercion of a spelling-wrapped coercer (`formats.FAST_SPELLINGS`)."""
    found = FAST_SPELLINGS.get(coercer)
    if found is None:
        return None
    kind, arg = found
    if kind == "date":
        return _shaped(shapes.dates(arg), _separated_dates(arg), slow)
    if arg is co.to_integer:  # a plain integer holds neither a comma nor a point
        return _shaped(_INT, _ints, slow)
    if arg is co.to_float:
        return _shaped(_COMMA_FLOAT, _comma_floats, slow)
    if arg is co.to_decimal:
        return _shaped(_COMMA_DECIMAL, _comma_decimals, slow)
    return None


def _booleans(slow: Coercion) -> Coercion:
    get = _BOOLEANS.get

    def run(cells: Cells) -> Cells:
        out = [v if v is None or v is FAIL else get(v, _M) for v in cells] if cells else []
        if _M in out:
            redo = slow([c if o is _M else None for c, o in zip(cells, out, strict=True)])
            out = [r if o is _M else o for o, r in zip(out, redo, strict=True)]
        return out

    return run


def _identity(cells: Cells) -> Cells:
    return cells


def has_fast_spelling(column_type: ColumnType, coercer: co.Coercer) -> bool:
    """Whether `column_coercion` converts this column in C-level passes (else cell by
    cell, at about the row path's cost per cell)."""
    fast = (co.to_integer, co.to_float, co.to_decimal, co.to_date, co.to_boolean)
    return (
        column_type is ColumnType.TEXT
        or any(coercer is f for f in fast)
        or _spelled(coercer, _identity) is not None
    )


def column_coercion(column_type: ColumnType, coercer: co.Coercer) -> Coercion:
    """How one column's cells are coerced in one pass: a fast spelling for the row
    path's plain coercers (by identity: a column with a format or a spelling of its
    own has a wrapped coercer and goes cell by cell)."""
    slow = _cellwise(coercer)
    spelled = _spelled(coercer, slow)
    if spelled is not None:
        return spelled
    if coercer is co.to_integer:
        return _shaped(_INT, _ints, slow)
    if coercer is co.to_float:
        return _shaped(_FLOAT, _floats, slow)
    if coercer is co.to_decimal:
        return _shaped(_DECIMAL, _decimals, slow)
    if coercer is co.to_date:
        return _shaped(_DATE, _dates, slow)
    if coercer is co.to_boolean:
        return _booleans(slow)
    if column_type is ColumnType.TEXT:
        return _identity  # the row path coerces only a non-text cell, and CSV cells are text
    return slow
