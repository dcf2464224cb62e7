"""Exact JSON parsing and canonical dumping.

orjson is the fast path, but it turns integers beyond 64 bits into floats silently;
a payload with a long digit run is parsed with the standard library instead, so a
30-digit id survives exactly. The slow path is held to what orjson accepts (no NaN or
Infinity, no overflowing floats, no lone surrogates), so a payload is accepted or
refused the same way whichever parser reads it. A leading UTF-8 BOM is ignored on both
(RFC 8259 lets a parser do so): the first line of a JSON Lines file saved by a Windows
editor parses, and its raw bytes keep the BOM.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_DUMP_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
# Integers of 19+ digits may not fit 64 bits. Mapping every digit to "0" and searching
# for a run is ~10x faster than a regex scan on the hot path.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
BOM = b"\xef\xbb\xbf"


class JSONError(ValueError):
    """Not valid JSON; the message says where."""


def _reject_constant(name: str) -> Any:
    raise JSONError(f"invalid JSON value {name}")


def loads(data: bytes | str) -> Any:
    """Parse JSON exactly: big integers stay integers; NaN, Infinity, overflowing
    floats and lone surrogates are rejected."""
    try:
        raw = data.encode() if isinstance(data, str) else data
    except UnicodeEncodeError as exc:
        raise JSONError(f"invalid text: {exc.reason}") from None
    if _LONG_RUN not in raw.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if raw.startswith(BOM):  # checked only on failure: the hot path pays nothing
                return loads(raw[len(BOM) :])
            raise JSONError(str(exc)) from None
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # includes JSONDecodeError, UnicodeError
        raise JSONError(str(exc)) from None
    _check(value)
    return value


def may_hold_long_integers(payloads: list[bytes] | bytes) -> bool:
    """Whether any of the payloads (or the bytes they were cut from, lines whole) has a
    digit run long enough to overflow 64 bits: one scan over the batch (a run cannot
    span the separator), so a batch without one can take orjson directly, row by row
    (see `Extractor.parse_plain`)."""
    blob = payloads if isinstance(payloads, bytes) else b"\n".join(payloads)
    return _LONG_RUN in blob.translate(_DIGITS_TO_ZERO)


def _check(value: Any) -> None:
    """Refuse what orjson would refuse (the slow path is rare, so a walk is fine)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONError("invalid JSON: lone surrogate in string") from None
        elif isinstance(item, float) and not math.isfinite(item):
            raise JSONError("invalid JSON: number out of range")


def dumps(obj: Any) -> bytes:
    """Canonical JSON (sorted keys, compact, UTF-8) so equal content hashes equal."""
    try:
        return orjson.dumps(obj, option=_DUMP_OPTS)
    except TypeError:
        # Integers beyond 64 bits (kept exact by `loads`) need the standard library;
        # non-finite floats become null there as they do in orjson.
        return json.dumps(
            _finite(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode("utf-8")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_str(obj: Any) -> str:
    return dumps(obj).decode()
