"""How values look on the dashboard: bytes as text or a hex dump, JSON pretty-printed,
and the difference between two record versions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

#: Bytes shown on a page at most (the rest is counted, and `raw show --bytes` has all).
MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Shown:
    """Payload bytes ready for a page: the text when they are UTF-8, always a hex dump."""

    size: int
    text: str | None
    hex: str
    truncated: bool


def show_bytes(data: bytes) -> Shown:
    part = data[:MAX_BYTES]
    try:
        text: str | None = part.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return Shown(len(data), text, hexdump(part), len(data) > MAX_BYTES)


def hexdump(data: bytes, width: int = 16) -> str:
    """`offset  hex bytes  |printable|`, like `hexdump -C`."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk).ljust(width * 3 - 1)
        printable = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes}  |{printable}|")
    return "\n".join(lines)


def pretty_json(value: Any) -> str:
    try:
        return orjson.dumps(
            value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str
        ).decode()
    except TypeError:  # an integer past 64 bits: the stdlib spells any size
        return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    kind: str  # added | removed | changed
    before: str | None
    after: str | None


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key in value:
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _flatten(item, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, value


def _text(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # an integer past 64 bits
        return json.dumps(value, default=str, ensure_ascii=False)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Leaf-by-leaf changes between two documents (dotted paths, as config paths are)."""
    old = dict(_flatten(before, ""))
    new = dict(_flatten(after, ""))
    changes = []
    for path in sorted(old.keys() | new.keys()):
        if path not in new:
            changes.append(Change(path, "removed", _text(old[path]), None))
        elif path not in old:
            changes.append(Change(path, "added", None, _text(new[path])))
        elif old[path] != new[path]:
            changes.append(Change(path, "changed", _text(old[path]), _text(new[path])))
    return changes
