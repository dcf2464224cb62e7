"""Python extractors for sources that need code, registered by name and version.

A Python extractor reshapes one parsed payload into the document the convention's
declared columns read from. It must be pure (no I/O) and deterministic, because replay
re-runs it over raw bytes received long ago.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

TransformFn = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class PythonExtractor:
    name: str
    version: str
    transform: TransformFn


class ExtractorRegistry:
    """Name → Python extractor. Bootstrap fills it from entry points and decorators."""

    def __init__(self, extractors: Iterable[PythonExtractor] = ()) -> None:
        self._by_name: dict[str, PythonExtractor] = {e.name: e for e in extractors}

    def register(self, extractor: PythonExtractor) -> None:
        existing = self._by_name.get(extractor.name)
        if existing is not None and existing.transform is not extractor.transform:
            raise ValueError(f"extractor '{extractor.name}' is already registered")
        self._by_name[extractor.name] = extractor

    def get(self, name: str) -> PythonExtractor | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)


#: Filled by the `@extractor` decorator at the import of user modules.
DEFAULT_REGISTRY = ExtractorRegistry()


def extractor(name: str, version: str = "1") -> Callable[[TransformFn], TransformFn]:
    """Register a function as the Python extractor `name` at `version`.

    Bump `version` whenever the function's output changes: records remember the version
    that produced them and `ingestry status` lists sources with older ones.
    """

    def register(fn: TransformFn) -> TransformFn:
        registered = PythonExtractor(name, version, fn)
        DEFAULT_REGISTRY.register(registered)
        fn.__ingestry_extractor__ = registered  # type: ignore[attr-defined]
        return fn

    return register
