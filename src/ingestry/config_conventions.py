"""The `conventions:` section: columns (their type, path, reading options, decimal
precision, the measures a geometry column derives) and hooks, resolved into the domain's
`Convention`s; errors through the config's `fail` (file, key, line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from ingestry.config_reading import ColumnReadingModel, ReadingError, column_parse
from ingestry.domain.conventions import (
    IDENTIFIER,
    RESERVED_COLUMNS,
    ColumnSpec,
    ColumnType,
    Convention,
    HookSpec,
    derived_columns,
    split_path,
)
from ingestry.domain.errors import ConfigError

#: Makes the error for a key (its path in the file) and a message.
Fail = Callable[[tuple[str, ...], str], ConfigError]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnModel(ColumnReadingModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    index: bool = False
    precision: int | None = Field(default=None, ge=1, le=1000)
    scale: int | None = Field(default=None, ge=0, le=1000)


class HookModel(_Model):
    name: str
    run: str
    timeout: float = Field(default=60.0, gt=0)


class ConventionModel(_Model):
    columns: dict[str, ColumnModel] = Field(default_factory=dict)
    hooks: list[HookModel] = Field(default_factory=list)


def resolve_conventions(models: Mapping[str, ConventionModel], fail: Fail) -> dict[str, Convention]:
    """Every declared convention, its names checked and its columns resolved."""
    conventions: dict[str, Convention] = {}
    for name, conv in models.items():
        if not IDENTIFIER.match(name):
            raise fail(("conventions", name), f"convention name must match {IDENTIFIER.pattern}")
        columns = []
        for col_name, col in conv.columns.items():
            col_loc = ("conventions", name, "columns", col_name)
            if not IDENTIFIER.match(col_name):
                raise fail(col_loc, f"column name '{col_name}' must match {IDENTIFIER.pattern}")
            if col_name in RESERVED_COLUMNS:
                raise fail(col_loc, f"column name '{col_name}' is reserved for the record envelope")
            try:
                path = split_path(col.path or col_name)
            except ValueError as exc:
                raise fail(("conventions", name, "columns", col_name, "path"), str(exc)) from None
            _check_decimal(col, col_loc, fail)
            try:
                parse = column_parse(col, col.type)
            except ReadingError as exc:
                raise fail((*col_loc, exc.key), str(exc)) from None
            columns.append(
                ColumnSpec(
                    col_name,
                    path,
                    col.type,
                    col.required,
                    col.index,
                    col.precision,
                    col.scale,
                    parse,
                )
            )
        columns += _derived(name, columns, fail)
        hooks = tuple(HookSpec(h.name, h.run, h.timeout) for h in conv.hooks)
        conventions[name] = Convention(name, tuple(columns), hooks)
    return conventions


def _check_decimal(col: ColumnModel, loc: tuple[str, ...], fail: Fail) -> None:
    """`precision` and `scale` belong to decimals; the scale fits in the precision."""
    for option in ("precision", "scale"):
        if getattr(col, option) is not None and col.type is not ColumnType.DECIMAL:
            raise fail((*loc, option), f"only a decimal column takes '{option}'")
    if col.precision is not None and col.scale is not None and col.scale > col.precision:
        raise fail(
            (*loc, "scale"), f"scale {col.scale} is larger than the precision {col.precision}"
        )


def _derived(
    convention: str,
    columns: list[ColumnSpec],
    fail: Fail,
) -> list[ColumnSpec]:
    """The measure columns of each geometry column (docs/geo.md), after the declared
    ones; a declared column may not take one of their names."""
    declared = {c.name for c in columns}
    out: list[ColumnSpec] = []
    for column in columns:
        if column.type is not ColumnType.GEOMETRY:
            continue
        for derived in derived_columns(column):
            if derived.name in declared:
                raise fail(
                    ("conventions", convention, "columns", derived.name),
                    f"column name '{derived.name}' is taken by the measures of geometry "
                    f"column '{column.name}' (docs/geo.md): rename it",
                )
            out.append(derived)
    return out
