"""The ports package: every name a port module defines is re-exported from
`ingestry.services.ports`, so adapters and services import the ports from one place."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import ingestry.services.ports as ports


def defined(path: Path) -> list[str]:
    """Top-level classes, functions and assignments of a module (type variables aside)."""
    names: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return [n for n in names if not n.startswith("_") and n != "T"]


def test_every_port_name_is_re_exported_from_the_package() -> None:
    missing = []
    for info in pkgutil.iter_modules(ports.__path__):
        module = importlib.import_module(f"{ports.__name__}.{info.name}")
        assert module.__file__ is not None
        for name in defined(Path(module.__file__)):
            if getattr(ports, name, None) is not getattr(module, name):
                missing.append(f"{info.name}.{name}")
    assert missing == []
    # exports, analytics (issue 17), harvest (issue 18), backups and cache (issue 19),
    # browse (issue 20), changes (issue 18 item 5)
    assert len(list(pkgutil.iter_modules(ports.__path__))) == 18
