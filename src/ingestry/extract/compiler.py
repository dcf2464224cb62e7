"""Compile a source's convention into a fast extractor, once.

The compiled extractor turns one parsed payload into a `Draft`: source id, entity type,
the declared columns as storage-ready values in declaration order, and the metadata
(every top-level field that no single-segment column path consumed; nested column paths
copy their value and leave the parent object whole).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention, join_path
from ingestry.domain.errors import ExtractionError
from ingestry.domain.geometry import MEASURES
from ingestry.domain.reading import DEFAULT_NULLS, ValueSpelling
from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract.coerce import Coercer, CoercionError, coercer_for
from ingestry.extract.columnar import ColumnarPlan
from ingestry.extract.decimals import SourceTextNeeded
from ingestry.extract.formats import parsed_coercer
from ingestry.extract.geometry import measures
from ingestry.extract.jsonio import JSONError, NestingError, loads, loads_numbers
from ingestry.extract.paths import MISSING, as_index
from ingestry.extract.registry import PythonExtractor


class Draft(NamedTuple):
    """What an extractor makes of one payload, before identity and versioning. The
    columnar path gives a plain CSV row's `metadata` as its canonical JSON text already
    (`csvcells.cell_part`); the row path, a dict."""

    source_id: str
    entity_type: str
    columns: tuple[Any, ...]
    metadata: dict[str, Any] | str


class Extractor:
    """A compiled, versioned, pure function: parsed payload → Draft.

    The declared columns are compiled once into the source of one straight-line Python
    function (no loop over columns, no getter calls), then `exec`uted; only the
    coercers are calls. Literals are embedded with `repr`, so config text cannot
    inject code.

    Decimal columns take the payload's own digits (`source_text`, for declarative
    extractors of JSON payloads): orjson reads `12.50` as the float 12.5, so a decimal
    column meeting a float sends the payload to an exact parse whose numbers are their
    text (`jsonio.loads_numbers`), read for the decimal columns only; everything else
    (metadata included) stays as the fast parse made it. Payloads without a float in
    a decimal column never pay for it.
    """

    def __init__(
        self,
        source: DataSource,
        convention: Convention,
        python: PythonExtractor | None = None,
        *,
        source_text: bool = True,
    ) -> None:
        self.source = source
        self.convention = convention
        self.python = python
        self.version = extractor_version(source, convention, python)
        text_cells = source.format is SourceFormat.CSV
        exact = source_text and python is None and not text_cells
        self.code = _generate(source, convention, python, exact)
        namespace = dict(_RUNTIME)
        namespace["_transform"] = python.transform if python else None
        namespace["_python_name"] = python.name if python else None
        coercers: list[Coercer | None] = []
        markers: list[frozenset[str]] = []
        for n, col in enumerate(convention.columns):
            if col.derived is not None:
                coercers.append(None)
                markers.append(frozenset())
                continue
            spelling = _spelling(source, col)
            base = coercer_for(col.type, text_cells=text_cells, column=col, source_text=exact)
            coercers.append(parsed_coercer(col.type, base, col.parse, spelling))
            markers.append(null_markers(source, col))
            namespace[f"_co{n}"] = coercers[-1]
            namespace[f"_nu{n}"] = markers[-1]
        exec(compile(self.code, f"<extractor {source.name}>", "exec"), namespace)
        self._extract: Callable[..., Draft] = namespace["extract"]
        self.columnar = ColumnarPlan.of(source, convention, coercers, markers, Draft, python)
        """The columnar path for a batch of CSV rows (`extract.columnar`), or None
        where the source is not eligible (the row path then takes every row)."""
        exec(compile(_content_code(convention), f"<content {source.name}>", "exec"), namespace)
        self.content: Callable[[tuple[Any, ...]], bytes] = namespace["content"]
        """The columns' part of a record's content: its non-null values by column name,
        in name order. A column added to the convention (null where the payload lacks
        it) or a reordering of columns in the config therefore leaves the content of
        existing records as it was, so a replay keeps their versions."""

    def parse(self, payload: bytes) -> Draft:
        """Parse JSON bytes and extract; every failure is an ExtractionError."""
        try:
            doc = loads(payload)
        except NestingError as exc:
            raise ExtractionError(str(exc)) from None
        except JSONError as exc:
            raise ExtractionError(f"invalid JSON: {exc}") from None
        try:
            return self._extract(doc)
        except SourceTextNeeded:
            return self._extract(loads(payload), loads_numbers(payload))

    def parse_plain(self, payload: bytes) -> Draft:
        """`parse` for a payload known to hold no integer beyond 64 bits (a batch
        checked by `jsonio.may_hold_long_integers`): orjson straight away."""
        try:
            doc = _orjson_loads(payload)
        except orjson.JSONDecodeError:
            return self.parse(payload)  # the reason (and a leading BOM) as `loads` has them
        try:
            return self._extract(doc)
        except SourceTextNeeded:
            return self._extract(_orjson_loads(payload), loads_numbers(payload))

    def __call__(self, doc: Any) -> Draft:
        return self._extract(doc)

    def of_row(self, row: Any, payload: bytes) -> Draft:
        """Extract a frame's row: a CSV row, or a JSON object parsed from `payload` by
        orjson (`jsonpage.exact_items`), whose decimals' digits may still be needed
        from the text (as `parse_plain` does)."""
        try:
            return self._extract(row)
        except SourceTextNeeded:
            return self._extract(_orjson_loads(payload), loads_numbers(payload))


_orjson_loads = orjson.loads

#: Formats whose cells arrive as text (or typed but with text where a value is missing),
#: so the default null markers apply to their non-text columns.
_CELL_FORMATS = (SourceFormat.CSV, SourceFormat.XLSX)


def _spelling(source: DataSource, column: ColumnSpec) -> ValueSpelling:
    own = column.parse.spelling if column.parse else ValueSpelling()
    return own.over(source.reading.spelling)


def null_markers(source: DataSource, column: ColumnSpec) -> frozenset[str]:
    """The cell texts that mean null in this column: the column's `nulls`, else the
    source's; when neither lists any, DEFAULT_NULLS for a non-text column of a CSV or
    Excel source, and none otherwise (a text column keeps `NA` unless it is listed; an
    empty CSV cell is null everywhere, as it always was)."""
    declared = _spelling(source, column).nulls
    if declared is not None:
        return frozenset(declared)
    if column.type is ColumnType.TEXT or source.format not in _CELL_FORMATS:
        return frozenset()
    return frozenset(DEFAULT_NULLS)


def _transform_failed(name: str, exc: Exception) -> ExtractionError:
    return ExtractionError(f"extractor '{name}' failed: {exc!r}")


_RUNTIME: dict[str, Any] = {
    "_M": MISSING,
    "_Draft": Draft,
    "_str": str,
    "_repr": repr,
    "_dict": dict,
    "_list": list,
    "_len": len,
    "_type": type,
    "ExtractionError": ExtractionError,
    "CoercionError": CoercionError,
    "_transform_failed": _transform_failed,
    "_dumps": orjson.dumps,
    "_measures": measures,
}


def _content_code(convention: Convention) -> str:
    code = ["def content(c):", "    d = {}"]
    named = sorted(enumerate(convention.columns), key=lambda item: item[1].name)
    for n, col in named:
        code.append(f"    if c[{n}] is not None: d[{col.name!r}] = c[{n}]")
    code.append("    return _dumps(d)")
    return "\n".join(code) + "\n"


def _fetch(var: str, path: tuple[str, ...], base: str = "doc") -> list[str]:
    """Code that leaves the value at `path` of `base` (or _M) in `var`."""
    out = [f"    {var} = {base}.get({path[0]!r}, _M)"]
    for segment in path[1:]:
        out.append(f"    if _type({var}) is _dict: {var} = {var}.get({segment!r}, _M)")
        index = as_index(segment)
        if index is None:
            out.append(f"    else: {var} = _M")
            continue
        bound = f"{index} < _len({var})" if index >= 0 else f"_len({var}) >= {-index}"
        out.append(f"    elif _type({var}) is _list: {var} = {var}[{index}] if {bound} else _M")
        out.append(f"    else: {var} = _M")
    return out


def _generate(
    source: DataSource, convention: Convention, python: PythonExtractor | None, exact: bool
) -> str:
    """The extractor's source; `exact`: decimal columns read from `x`, the payload
    parsed with numbers as their text, when given (see `Extractor`)."""
    code = ["def extract(doc, x=None):"]
    if python is not None:
        code += [
            "    try:",
            "        doc = _transform(doc)",
            "    except Exception as exc:",
            "        raise _transform_failed(_python_name, exc) from None",
        ]
    code += [
        "    if _type(doc) is not _dict:",
        "        raise ExtractionError(f'expected a JSON object, got {_type(doc).__name__}')",
    ]
    for k, path in enumerate(source.id_paths):
        dotted = join_path(path)
        var = f"i{k}"
        code += _fetch(var, path)
        missing = f"missing id at path {dotted!r}"
        not_scalar = f"id at path {dotted!r} must be a string or number"
        code += [
            f"    if {var} is _M or {var} is None or {var} == '':",
            f"        raise ExtractionError({missing!r})",
            f"    if _type({var}) is not _str:",
            f"        if isinstance({var}, (_dict, _list, bool)):",
            f"            raise ExtractionError({not_scalar!r})",
            f"        {var} = _str({var})",
        ]
    ids = [f"i{k}" for k in range(len(source.id_paths))]
    source_id = ids[0] if len(ids) == 1 else " + '|' + ".join(ids)
    code.append(f"    sid = {source_id}")
    if source.entity_type_path is not None:
        code += _fetch("ent", source.entity_type_path)
        code += [
            f"    ent = {convention.name!r} if ent is _M or ent is None or ent == '' else _str(ent)"
        ]
    else:
        code.append(f"    ent = {convention.name!r}")
    if exact and any(c.type is ColumnType.DECIMAL for c in convention.columns):
        code.append("    xd = doc if x is None else x")
    for n, col in enumerate(convention.columns):
        if col.derived is not None:
            continue
        var = f"c{n}"
        exact_column = exact and col.type is ColumnType.DECIMAL
        code += _fetch(var, col.path, "xd" if exact_column else "doc")
        where = f"(path {col.dotted_path})"
        if null_markers(source, col):
            marked = f"required column {col.name!r} is null {where}: marker "
            code += [f"    if _type({var}) is _str and {var} in _nu{n}:"]
            if col.required:
                code += [f"        raise ExtractionError({marked!r} + _repr({var}))"]
            else:
                code += [f"        {var} = None"]
        if col.required:
            missing = f"required column {col.name!r} is missing {where}"
            null = f"required column {col.name!r} is null {where}"
            code += [
                f"    if {var} is _M:",
                f"        raise ExtractionError({missing!r})",
                f"    if {var} is None:",
                f"        raise ExtractionError({null!r})",
            ]
        else:
            code += [f"    if {var} is _M: {var} = None"]
        fast = "_type({var}) is not _str and " if col.type is ColumnType.TEXT else ""
        prefix = f"column {col.name!r} {where}: "
        code += [
            f"    if {fast.format(var=var)}{var} is not None:",
            "        try:",
            f"            {var} = _co{n}({var})",
            "        except CoercionError as exc:",
            f"            raise ExtractionError({prefix!r} + _str(exc)) from None",
        ]
    code += _derive(convention)
    for key in dict.fromkeys(
        c.path[0] for c in convention.columns if len(c.path) == 1 and c.derived is None
    ):
        code.append(f"    doc.pop({key!r}, None)")
    columns = "".join(f"c{n}, " for n in range(len(convention.columns)))
    code.append(f"    return _Draft(sid, ent, ({columns}), doc)")
    return "\n".join(code) + "\n"


def _derive(convention: Convention) -> list[str]:
    """Code that measures each geometry column (`extract/geometry.py`: an invalid
    geometry is an ExtractionError with shapely's reason) and fills its derived columns."""
    code: list[str] = []
    index = {c.name: n for n, c in enumerate(convention.columns)}
    for n, col in enumerate(convention.columns):
        if col.type is not ColumnType.GEOMETRY:
            continue
        prefix = f"column {col.name!r} (path {col.dotted_path}): "
        code += [
            f"    g{n} = None",
            f"    if c{n} is not None:",
            "        try:",
            f"            g{n} = _measures(c{n})",
            "        except CoercionError as exc:",
            f"            raise ExtractionError({prefix!r} + _str(exc)) from None",
        ]
    for m, col in enumerate(convention.columns):
        if col.derived is not None:
            n = index[col.derived.geometry]
            k = MEASURES.index(col.derived.measure)
            code.append(f"    c{m} = None if g{n} is None else g{n}[{k}]")
    return code


def _column_spec(column: ColumnSpec) -> list[Any]:
    spec: list[Any] = [column.name, list(column.path), column.type.value, column.required]
    if column.precision is not None or column.scale is not None:  # old versions unchanged
        spec += [column.precision, column.scale]
    if column.parse is not None:
        spec.append(repr(column.parse))
    return spec


def extractor_version(
    source: DataSource, convention: Convention, python: PythonExtractor | None
) -> str:
    """A short, stable fingerprint of everything that shapes the extractor's output."""
    spec: list[Any] = [
        source.format.value,
        [list(p) for p in source.id_paths],
        list(source.entity_type_path or ()),
        convention.name,
        [_column_spec(c) for c in convention.columns],
    ]
    if not source.reading.is_default:  # old versions unchanged
        spec.append(source.reading.fingerprint())
    if source.format in _CELL_FORMATS and any(
        c.type is not ColumnType.TEXT for c in convention.columns
    ):
        spec.append(["nulls", *DEFAULT_NULLS])  # the default markers read NA as null
    digest = hashlib.blake2b(repr(spec).encode(), digest_size=4).hexdigest()
    prefix = f"{python.name}@{python.version}" if python else "decl"
    return f"{prefix}+{digest}"
