"""The JSON body of a `pull:` source's POST requests (`method: POST`, `body:`): search
and query APIs (Notion's database query, Elasticsearch's `_search`, GraphQL) take the
page they answer from the body, not the query string. docs/harvest.md, "POST bodies".

A page request carries only the values its paginator and the incremental cursor put
in the body (`PageRequest.body`, by dotted path); the body sent is the source's
`body:` with those values set, written here. Pure.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

from ingestry.domain.conventions import split_path

__all__ = ["BodyValues", "body_bytes", "body_text", "mark_value"]

#: (dotted path, JSON value) the paginator and the cursor set in a request's body
BodyValues = tuple[tuple[str, Any], ...]

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def body_text(values: BodyValues) -> str:
    """The values as compact JSON, in the order set: part of a request's key (repeated
    pages, ETags), so two requests differing only in their body differ."""
    return json.dumps(dict(values), separators=(",", ":"), ensure_ascii=False)


def body_bytes(base: str | None, values: BodyValues) -> bytes:
    """The body to send: `base` (the source's `body:` as JSON text, or none) with each
    value set at its dotted path (objects made along the way). Integers of any width
    stay exact: the standard library writes them, orjson stops at 64 bits."""
    document: Any = {} if base is None else copy.deepcopy(json.loads(base))
    for path, value in values:
        set_at(document, split_path(path), value)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def set_at(document: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """`document` with `value` at `path`; a part that is not an object becomes one."""
    node = document
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def mark_value(text: str) -> Any:
    """The incremental cursor's kept mark as a body value: an integer when its text is
    one (an id or a sequence number: an API checks its type), else the text as
    received (a timestamp, a token)."""
    return int(text) if _INTEGER.fullmatch(text) else text
