"""Compiled getters for dotted paths (`customer.email`, `line_items.0.sku`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

_INDEX = re.compile(r"-?[0-9]+\Z", re.ASCII)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

Getter = Callable[[Any], Any]


def compile_getter(path: tuple[str, ...]) -> Getter:
    """Build a getter that returns the value at `path`, or MISSING.

    A numeric segment indexes a list (negative counts from the end) and is a plain
    key on an object, so `{"0": …}` still works.
    """
    if len(path) == 1:
        key = path[0]

        def get_one(doc: Any) -> Any:
            return doc.get(key, MISSING) if type(doc) is dict else MISSING

        return get_one
    steps = tuple((seg, as_index(seg)) for seg in path)

    def get_path(doc: Any) -> Any:
        cur = doc
        for key, idx in steps:
            kind = type(cur)
            if kind is dict:
                cur = cur.get(key, MISSING)
                if cur is MISSING:
                    return MISSING
            elif kind is list and idx is not None:
                if -len(cur) <= idx < len(cur):
                    cur = cur[idx]
                else:
                    return MISSING
            else:
                return MISSING
        return cur

    return get_path


def as_index(segment: str) -> int | None:
    """The list index a path segment names: ASCII digits with an optional minus."""
    return int(segment) if _INDEX.match(segment) else None
