"""Extractors: the registry and how a source's Python extractor is found."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ingestry.domain.errors import ConfigError
from ingestry.extract.compiler import Extractor
from ingestry.extract.registry import DEFAULT_REGISTRY, ExtractorRegistry, PythonExtractor

if TYPE_CHECKING:
    from ingestry.config import Settings
    from ingestry.domain.sources import DataSource


EXTRACTOR_ENTRY_POINTS = "ingestry.extractors"


def build_extractor_registry(settings: Settings) -> ExtractorRegistry:
    """The Python extractors sources name, filled in as each source first needs its own
    (`compile_extractor`): a module that cannot be imported fails only the commands of
    the sources that name it."""
    return ExtractorRegistry()


def _as_extractor(name: str, obj: object) -> PythonExtractor:
    if isinstance(obj, PythonExtractor):
        return obj
    registered = getattr(obj, "__ingestry_extractor__", None)
    if isinstance(registered, PythonExtractor):
        return PythonExtractor(name, registered.version, registered.transform)
    if callable(obj):
        return PythonExtractor(name, str(getattr(obj, "__version__", "1")), obj)
    raise ConfigError(f"extractor '{name}' is not callable")


def _python_extractor(
    settings: Settings, registry: ExtractorRegistry, source: DataSource, ref: str
) -> PythonExtractor:
    """The extractor `ref`: registered already (`@extractor`), an entry point in
    EXTRACTOR_ENTRY_POINTS, or `module:function`; a ConfigError names the source, the
    extractor and where it was looked for."""
    where = f"{settings.path}: sources.{source.name}.extractor: '{ref}'"
    found = registry.get(ref) or DEFAULT_REGISTRY.get(ref)
    if found is not None:
        return found
    from importlib.metadata import entry_points  # scans every installed package: ~15 ms

    for ep in entry_points(group=EXTRACTOR_ENTRY_POINTS, name=ref):
        try:
            return _as_extractor(ref, ep.load())
        except Exception as exc:  # a plugin's import can fail any way
            raise ConfigError(
                f"{where} cannot be loaded from entry point '{ep.value}' (group "
                f"'{EXTRACTOR_ENTRY_POINTS}'): {type(exc).__name__}: {exc}"
            ) from None
    if ":" not in ref:
        known = ", ".join(sorted({*registry.names(), *DEFAULT_REGISTRY.names()})) or "none"
        raise ConfigError(
            f"{where} is not registered (registered: {known}; looked in the entry point "
            f"group '{EXTRACTOR_ENTRY_POINTS}'; or name it as 'module:function')"
        )
    module, _, attr = ref.partition(":")
    folder = settings.root.resolve()
    try:
        local = _beside_config(folder, module)
        return _as_extractor(ref, getattr(importlib.import_module(module), attr))
    except Exception as exc:  # ImportError, AttributeError, or the module's own error
        top = module.split(".")[0]
        places = f"{folder / (top + '.py')} or {folder / top / '__init__.py'}"
        raise ConfigError(
            f"{where} cannot be imported: {type(exc).__name__}: {exc} (looked for "
            f"'{attr}' in module '{module}' "
            + (
                f"at {local}, beside the config)"
                if local
                else f"on the Python path, sys.path, after the config's folder ({places}: "
                "not there); put the module beside the config or install its package)"
            )
        ) from None


def _beside_config(folder: Path, module: str) -> Path | None:
    """Put the config's folder first on sys.path when it holds `module`'s top package
    (`module.py` or `module/__init__.py`), so `extractor: mymod:fn` works from any
    working directory without PYTHONPATH; returns the file found, if any. A module of
    that name imported from elsewhere already is an ImportError naming both."""
    top = module.split(".")[0]
    for candidate in (folder / f"{top}.py", folder / top / "__init__.py"):
        if candidate.is_file():
            loaded = sys.modules.get(top)
            where = getattr(loaded, "__file__", None)
            if loaded is not None and where and Path(where).resolve() != candidate:
                raise ImportError(
                    f"a module '{top}' from {where} is imported already; rename {candidate}"
                )
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return candidate
    return None


def compile_extractor(
    settings: Settings, registry: ExtractorRegistry, source: DataSource
) -> Extractor:
    python = None
    if source.extractor:
        python = _python_extractor(settings, registry, source, source.extractor)
        if registry.get(source.extractor) is None:
            registry.register(python)
    return Extractor(source, settings.convention(source.convention), python)
