"""Package re-exports imported on first use (PEP 562), so `from package import X` keeps
working while a command loads only the modules it runs (docs/architecture.md,
"Start-up"). Shared by the composition root and the ports package."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's `__getattr__` and `__dir__`: `exports` maps a name to its module."""

    def __getattr__(name: str) -> Any:
        """Import a re-exported name on first use, then keep it as a plain attribute."""
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # __import__, not importlib.import_module: `-X importtime` reports only the former
        value = getattr(__import__(module, fromlist=[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
