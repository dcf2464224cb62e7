"""The pure core's imports, read from the source (import-linter checks the layers;
this checks what it cannot: that nothing outside the standard library creeps in)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import ingestry

PACKAGE = Path(ingestry.__file__).parent

#: What each pure package may import besides the standard library.
ALLOWED = {
    "domain": {"ingestry.domain"},
    # orjson is the JSON fast path (DESIGN: "orjson for JSON"); nothing else
    # shapely for geometry columns, imported on first use (extract/geometry.py)
    "extract": {"ingestry.domain", "ingestry.extract", "orjson", "shapely"},
}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function bodies included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def outside(module: str, allowed: set[str]) -> bool:
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top == "__future__":
        return False
    return not any(module == a or module.startswith(f"{a}.") for a in allowed)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_pure_packages_import_only_the_standard_library(package: str) -> None:
    wrong = {
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for module in imported_modules(path)
        if outside(module, ALLOWED[package])
    }
    assert not wrong, f"{package}/ must stay pure (standard library only): {sorted(wrong)}"
