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

from ingestry.domain.conventions import Convention
from ingestry.domain.errors import ExtractionError
from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract.coerce import CoercionError, coercer_for
from ingestry.extract.jsonio import JSONError, loads
from ingestry.extract.paths import MISSING, compile_getter
from ingestry.extract.registry import PythonExtractor


class Draft(NamedTuple):
    """What an extractor makes of one payload, before identity and versioning."""

    source_id: str
    entity_type: str
    columns: tuple[Any, ...]
    metadata: dict[str, Any]


class Extractor:
    """A compiled, versioned, pure function: parsed payload → Draft."""

    def __init__(
        self,
        source: DataSource,
        convention: Convention,
        python: PythonExtractor | None = None,
    ) -> None:
        self.source = source
        self.convention = convention
        self.python = python
        self.version = extractor_version(source, convention, python)
        text_cells = source.format is SourceFormat.CSV
        self._columns = tuple(
            (
                c.name,
                c.dotted_path,
                compile_getter(c.path),
                coercer_for(c.type, text_cells=text_cells),
                c.required,
            )
            for c in convention.columns
        )
        self._consumed = tuple(c.path[0] for c in convention.columns if len(c.path) == 1)
        self._ids = tuple((".".join(p), compile_getter(p)) for p in source.id_paths)
        self._entity = compile_getter(source.entity_type_path) if source.entity_type_path else None
        self._transform: Callable[[Any], Any] | None = python.transform if python else None

    def parse(self, payload: bytes) -> Draft:
        """Parse JSON bytes and extract; every failure is an ExtractionError."""
        try:
            doc = loads(payload)
        except JSONError as exc:
            raise ExtractionError(f"invalid JSON: {exc}") from None
        return self(doc)

    def __call__(self, doc: Any) -> Draft:
        if self._transform is not None:
            try:
                doc = self._transform(doc)
            except Exception as exc:
                name = self.python.name if self.python else "?"
                raise ExtractionError(f"extractor '{name}' failed: {exc!r}") from None
        if type(doc) is not dict:
            raise ExtractionError(f"expected a JSON object, got {type(doc).__name__}")
        source_id = self._source_id(doc)
        entity_type = self.convention.name
        if self._entity is not None:
            found = self._entity(doc)
            if found is not MISSING and found is not None and found != "":
                entity_type = str(found)
        values: list[Any] = []
        for name, path, get, coerce, required in self._columns:
            value = get(doc)
            if value is MISSING or value is None:
                if required:
                    what = "missing" if value is MISSING else "null"
                    raise ExtractionError(f"required column '{name}' is {what} (path {path})")
                values.append(None)
                continue
            try:
                values.append(coerce(value))
            except CoercionError as exc:
                raise ExtractionError(f"column '{name}' (path {path}): {exc}") from None
        for key in self._consumed:
            doc.pop(key, None)
        return Draft(source_id, entity_type, tuple(values), doc)

    def _source_id(self, doc: dict[str, Any]) -> str:
        parts = []
        for path, get in self._ids:
            value = get(doc)
            if value is MISSING or value is None or value == "":
                raise ExtractionError(f"missing id at path '{path}'")
            if isinstance(value, (dict | list, bool)):
                raise ExtractionError(f"id at path '{path}' must be a string or number")
            parts.append(value if type(value) is str else str(value))
        return parts[0] if len(parts) == 1 else "|".join(parts)


def extractor_version(
    source: DataSource, convention: Convention, python: PythonExtractor | None
) -> str:
    """A short, stable fingerprint of everything that shapes the extractor's output."""
    spec = [
        source.format.value,
        [list(p) for p in source.id_paths],
        list(source.entity_type_path or ()),
        convention.name,
        [[c.name, list(c.path), c.type.value, c.required] for c in convention.columns],
    ]
    digest = hashlib.blake2b(repr(spec).encode(), digest_size=4).hexdigest()
    prefix = f"{python.name}@{python.version}" if python else "decl"
    return f"{prefix}+{digest}"
