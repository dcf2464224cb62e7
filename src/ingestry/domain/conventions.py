"""Conventions: record types with their declared, typed columns and hooks.

The JSONB-envelope rule: a field that drives queries becomes a declared column with a
real type (and an index when asked); everything else stays in the record's `metadata`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ingestry.domain.geometry import MEASURES, Measure, measure_column
from ingestry.domain.reading import ColumnParse


class ColumnType(StrEnum):
    """The contract's column types; each maps to a real SQL type per backend."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"
    JSON = "json"
    GEOMETRY = "geometry"


IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")

#: Names the record tables use for the envelope; a declared column may not take them.
RESERVED_COLUMNS = frozenset(
    {
        "id",
        "srn",
        "source_type",
        "upstream",
        "source_id",
        "source",
        "data_source",
        "metadata",
        "content_hash",
        "version",
        "extractor_version",
        "raw_sha256",
        "published_at",
        "updated_at",
    }
)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One declared column: where to find it in the payload and what type it has."""

    name: str
    path: tuple[str, ...]
    type: ColumnType
    required: bool = False
    index: bool = False
    #: decimal only: total digits and digits after the point (None: the exact text)
    precision: int | None = None
    scale: int | None = None
    #: how its cells are parsed (format, time zone, spelling overrides); None: defaults
    parse: ColumnParse | None = None
    #: a column derived from a geometry column (not read from the payload): its measure
    derived: Derived | None = None

    @property
    def dotted_path(self) -> str:
        return join_path(self.path)


@dataclass(frozen=True, slots=True)
class Derived:
    """Where a derived column's value comes from: a measure of a geometry column."""

    geometry: str
    measure: Measure


def derived_columns(geometry: ColumnSpec) -> tuple[ColumnSpec, ...]:
    """The float columns derived from a geometry column (see domain/geometry.py); they
    carry the geometry's path so nothing reads a payload key of their own."""
    return tuple(
        ColumnSpec(
            measure_column(geometry.name, m),
            geometry.path,
            ColumnType.FLOAT,
            derived=Derived(geometry.name, m),
        )
        for m in MEASURES
    )


@dataclass(frozen=True, slots=True)
class HookSpec:
    """A program run after a record of this convention is published."""

    name: str
    run: str
    timeout_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Convention:
    """A record type: its name, declared columns and hooks."""

    name: str
    columns: tuple[ColumnSpec, ...] = ()
    hooks: tuple[HookSpec, ...] = field(default=())

    def __post_init__(self) -> None:
        """A geometry column always comes with its measure columns (after the declared
        ones, as the config adds them), however the convention was built: the storages
        index them, so a convention without them could not be written."""
        names = {c.name for c in self.columns}
        missing = [
            d
            for g in self.columns
            if g.type is ColumnType.GEOMETRY
            for d in derived_columns(g)
            if d.name not in names
        ]
        if missing:
            object.__setattr__(self, "columns", (*self.columns, *missing))

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def geometry_columns(self) -> tuple[ColumnSpec, ...]:
        """The declared geometry columns (each has derived measure columns)."""
        return tuple(c for c in self.columns if c.type is ColumnType.GEOMETRY)


def split_path(path: str) -> tuple[str, ...]:
    """`customer.email` → ('customer', 'email'); list indexes stay strings ('0').

    A segment in double quotes is one key, dots and all (`"@odata.nextLink"`, as jq
    spells it; `\\"` and `\\\\` inside stand for a quote and a backslash)."""
    if '"' not in path:
        parts = tuple(path.split("."))
        if not path or any(p == "" for p in parts):
            raise ValueError(f"invalid path {path!r}: empty segment")
        return parts
    found: list[str] = []
    at = 0
    while True:
        quoted = path.startswith('"', at)
        match = (_QUOTED if quoted else _PLAIN).match(path, at)
        if match is None:
            raise ValueError(f"invalid path {path!r}: a bad or empty segment at {at + 1}")
        found.append(_UNESCAPE.sub(r"\1", match.group(1)) if quoted else match.group(0))
        at = match.end()
        if at == len(path):
            return tuple(found)
        if path[at] != ".":
            raise ValueError(f"invalid path {path!r}: expected '.' at {at + 1}")
        at += 1


def join_path(parts: Sequence[str]) -> str:
    """The text `split_path` reads back as `parts`: a key holding a dot or a quote
    (or empty) is quoted."""
    return ".".join(p if p and not _NEEDS_QUOTES.search(p) else _quote(p) for p in parts)


def _quote(part: str) -> str:
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PLAIN = re.compile(r'[^."]+')
_UNESCAPE = re.compile(r"\\(.)")
_NEEDS_QUOTES = re.compile(r'[."]')
