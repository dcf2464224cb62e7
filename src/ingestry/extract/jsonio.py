"""Exact JSON parsing and canonical dumping.

orjson is the fast path, but it turns integers beyond 64 bits into floats silently;
a payload with a long digit run is parsed with the standard library instead, so a
30-digit id survives exactly.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Integers of 19+ digits may not fit 64 bits. Mapping every digit to "0" and searching
# for a run is ~10x faster than a regex scan on the hot path.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
_DUMP_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


class JSONError(ValueError):
    """Not valid JSON; the message says where."""


def _reject_constant(name: str) -> Any:
    raise JSONError(f"invalid JSON value {name}")


def loads(data: bytes | str) -> Any:
    """Parse JSON exactly: big integers stay integers, NaN/Infinity are rejected."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_RUN not in raw.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise JSONError(str(exc)) from None
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise JSONError(str(exc)) from None


def dumps(obj: Any) -> bytes:
    """Canonical JSON (sorted keys, compact, UTF-8) so equal content hashes equal."""
    try:
        return orjson.dumps(obj, option=_DUMP_OPTS)
    except TypeError:
        # Integers beyond 64 bits (kept exact by `loads`) need the standard library.
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode()


def dumps_str(obj: Any) -> str:
    return dumps(obj).decode()
