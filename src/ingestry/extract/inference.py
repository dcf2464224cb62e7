"""Schema inference over a sample of rows (`ingestry sources infer`): pure, no I/O.

Each column gets the narrowest type every sampled value fits (boolean, integer, epoch
milliseconds, float, date or timestamp with the pattern that reads all of them, else
text), the null markers found in it, and a confidence note saying why. Candidate ids
are the columns unique and never null in the sample. The proposal is a plan for the
user to read: it says what it saw, it never decides alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ingestry.domain.conventions import IDENTIFIER, RESERVED_COLUMNS
from ingestry.domain.reading import DEFAULT_NULLS

#: Cell texts taken for missing values when they sit among values of another type.
NULL_CANDIDATES = (*DEFAULT_NULLS, "NULL", "n/a", "#N/A", "NaN", "nan", "None", "-", "?")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_COMMA_FLOAT = re.compile(r"[+-]?[0-9]{1,3}(\.[0-9]{3})*(,[0-9]+)?\Z|[+-]?[0-9]+,[0-9]+\Z")
_TRUE = {"true", "yes", "y", "t"}
_FALSE = {"false", "no", "n", "f"}
#: strptime patterns tried, most common first; the first reading every value wins.
DATE_FORMATS = ("%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y.%m.%d", "%d-%m-%Y")
TIMESTAMP_FORMATS = tuple(
    f"{d}{sep}{t}"
    for d in ("%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y-%m-%d")
    for sep in (" ", "T")
    for t in ("%H:%M:%S", "%H:%M")
)
#: Epoch milliseconds between 2001-09-09 and 2096-10-02 (13 digits).
EPOCH_MS = (10**12, 4 * 10**12)
EPOCH_S = (10**9, 4 * 10**9)
_TIME_NAME = re.compile(r"(time|date|_at$|_ts$|^ts$|epoch|stamp)", re.IGNORECASE)


@dataclass
class ColumnGuess:
    """What the sample says of one column."""

    header: str
    name: str
    type: str = "text"
    format: str | None = None
    decimal_comma: bool = False
    markers: dict[str, int] = field(default_factory=dict)
    nulls: int = 0
    seen: int = 0
    unique: bool = False
    why: str = ""

    @property
    def null_share(self) -> float:
        return self.nulls / self.seen if self.seen else 0.0


@dataclass
class Guess:
    """The proposal for one file."""

    columns: list[ColumnGuess]
    ids: list[str]
    rows: int
    nulls: list[str]
    decimal_comma: bool


def column_name(header: str, taken: set[str]) -> str:
    """A declared column's name for a header: lower case, `_` for the rest, not reserved."""
    name = re.sub(r"[^a-z0-9_]+", "_", header.strip().lower()).strip("_") or "column"
    if not name[0].isalpha():
        name = f"c_{name}"
    name = name[:40]
    if name in RESERVED_COLUMNS:
        name = f"{name}_value"
    base, n = name, 2
    while name in taken or not IDENTIFIER.match(name):
        name = f"{base}_{n}"
        n += 1
    taken.add(name)
    return name


def infer(rows: Sequence[Mapping[str, Any]], *, text_cells: bool, delimiter: str = ",") -> Guess:
    """Guess every column of `rows` (cells as text when `text_cells`, else JSON values)."""
    headers: list[str] = []
    for row in rows:
        for key in row:
            if key not in headers:
                headers.append(key)
    taken: set[str] = set()
    comma_ok = delimiter != ","
    columns = []
    for header in headers:
        values = [row.get(header) for row in rows]
        guess = ColumnGuess(header, column_name(header, taken), seen=len(values))
        _guess_column(guess, values, text_cells, comma_ok)
        columns.append(guess)
    markers = sorted({m for c in columns for m in c.markers if m not in DEFAULT_NULLS})
    ids = [c.header for c in columns if c.unique and c.nulls == 0 and c.type in _ID_TYPES]
    ids.sort(key=_id_rank)
    return Guess(
        columns,
        ids,
        len(rows),
        [*DEFAULT_NULLS, *markers] if markers else [],
        any(c.decimal_comma for c in columns),
    )


_ID_TYPES = ("text", "integer")


def _id_rank(header: str) -> tuple[int, str]:
    low = header.lower()
    if low == "id":
        return (0, low)
    if low.endswith(("_id", " id", "id")) or low in ("key", "code", "uuid"):
        return (1, low)
    return (2, low)


def _guess_column(guess: ColumnGuess, values: list[Any], text_cells: bool, comma_ok: bool) -> None:
    present: list[Any] = []
    for value in values:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            guess.nulls += 1
            if value == "" or value is None:
                continue
        elif isinstance(value, str) and value.strip() in NULL_CANDIDATES:
            guess.markers[value.strip()] = guess.markers.get(value.strip(), 0) + 1
            continue
        present.append(value)
    texts = [v if isinstance(v, str) else None for v in present]
    guess.unique = len(present) == len(values) and len({repr(v) for v in present}) == len(present)
    if not present:
        guess.why = "no values in the sample"
        return
    kind = _json_kind(present) if not all(t is not None for t in texts) else None
    if kind == "integer":
        guess.type, guess.format = _integer_kind(present, guess.header)
    elif kind is not None:
        guess.type = kind
    else:
        strings = [t.strip() for t in texts if t is not None]
        guess.type, guess.format, guess.decimal_comma = _text_kind(strings, guess.header, comma_ok)
    if guess.type == "text" and guess.markers:
        # markers among text are text: a text column keeps them unless listed
        guess.markers = {}
    marked = sum(guess.markers.values())
    guess.nulls += marked
    share = guess.nulls / guess.seen if guess.seen else 0.0
    spelled = ", ".join(sorted(guess.markers)) or "empty"
    guess.why = f"{_describe(guess)}, {share:.1%} " + (
        f"null ({spelled})" if guess.nulls else "null"
    )


def _describe(guess: ColumnGuess) -> str:
    out = guess.type
    if guess.format:
        out += f" {guess.format}"
    if guess.decimal_comma:
        out += " with decimal comma"
    return out


def _json_kind(values: list[Any]) -> str | None:
    """The type of typed (JSON, Parquet) values; None when they are all text."""
    kinds = {type(v) for v in values}
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int}:
        return "integer"
    if kinds <= {int, float}:
        return "float"
    if kinds <= {dict, list}:
        return "json"
    if kinds <= {str}:
        return None
    return "text"


def _text_kind(values: list[str], header: str, comma_ok: bool) -> tuple[str, str | None, bool]:
    lowered = {v.lower() for v in values}
    if lowered <= _TRUE | _FALSE and lowered & _TRUE and lowered & _FALSE:
        return "boolean", None, False
    if all(_INTEGER.match(v) for v in values):
        return (*_integer_kind([int(v) for v in values], header), False)
    if all(_FLOAT.match(v) for v in values):
        return "float", None, False
    if comma_ok and all(_COMMA_FLOAT.match(v) for v in values):
        return "float", None, True
    if _all_iso(values, date.fromisoformat) and all(len(v) == 10 for v in values):
        return "date", None, False
    if _all_iso(values, datetime.fromisoformat):
        return "timestamp", None, False
    for fmt in DATE_FORMATS:
        if _all_parse(values, fmt):
            return "date", fmt, False
    for fmt in TIMESTAMP_FORMATS:
        if _all_parse(values, fmt):
            return "timestamp", fmt, False
    return "text", None, False


def _integer_kind(numbers: list[int], header: str) -> tuple[str, str | None]:
    """Integers, or epoch milliseconds (13 digits, this century), or epoch seconds (10
    digits in a column whose name says time), or decimals beyond 64 bits."""
    if all(EPOCH_MS[0] <= n < EPOCH_MS[1] for n in numbers):
        return "timestamp", "epoch_ms"
    if _TIME_NAME.search(header) and all(EPOCH_S[0] <= n < EPOCH_S[1] for n in numbers):
        return "timestamp", "epoch_s"
    if all(-(2**63) <= n < 2**63 for n in numbers):
        return "integer", None
    return "decimal", None


def _all_iso(values: list[str], parse: Any) -> bool:
    try:
        for v in values:
            parse(v)
    except ValueError:
        return False
    return True


def _all_parse(values: list[str], fmt: str) -> bool:
    try:
        for v in values:
            datetime.strptime(v, fmt)
    except ValueError:
        return False
    return True
