"""Exact JSON parsing and canonical dumping.

orjson is the fast path, but it turns integers beyond 64 bits into floats silently;
a payload with a long digit run is parsed with the standard library instead, so a
30-digit id survives exactly. The slow path is held to what orjson accepts (no NaN or
Infinity, no overflowing floats, no lone surrogates), so a payload is accepted or
refused the same way whichever parser reads it. A leading UTF-8 BOM is ignored on both
(RFC 8259 lets a parser do so): the first line of a JSON Lines file saved by a Windows
editor parses, and its raw bytes keep the BOM.

Nesting has one limit, `MAX_DEPTH` (254 levels, the deepest orjson writes): a value
nested deeper cannot be stored as canonical JSON, so it fails with `NestingError`, the
same reason wherever it shows up (orjson's parser stops at 1,024 levels, the standard
library's at the recursion limit, the writer at 255; all three say `NestingError`).
No walk is added to the hot path: orjson's writer is the check.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from ingestry.extract.decimals import NumberText

DUMP_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
# Integers of 19+ digits may not fit 64 bits. Mapping every digit to "0" and searching
# for a run is ~10x faster than a regex scan on the hot path.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
BOM = b"\xef\xbb\xbf"


#: The deepest nesting stored: orjson writes 254 levels and refuses the 255th.
MAX_DEPTH = 254


class JSONError(ValueError):
    """Not valid JSON; the message says where."""


class NestingError(JSONError):
    """JSON nested deeper than `MAX_DEPTH`: one limit, one reason, on every path."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


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
            # checked only on failure: the hot path pays nothing
            if raw.startswith(BOM):
                return loads(raw[len(BOM) :])
            if str(exc).startswith("depth limit exceeded"):
                raise NestingError from None
            raise JSONError(str(exc)) from None
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise NestingError from None
    except ValueError as exc:  # includes JSONDecodeError, UnicodeError
        raise JSONError(str(exc)) from None
    _check(value)
    return value


def loads_numbers(data: bytes) -> Any:
    """Parse JSON with every non-integer number kept as its text (`NumberText`), for
    the exact digits of decimal columns; only called on payloads `loads` accepted."""
    text = data[len(BOM) :].decode() if data.startswith(BOM) else data.decode()
    value = json.loads(text, parse_float=NumberText, parse_constant=_reject_constant)
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
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth == MAX_DEPTH:
                raise NestingError
            members = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((member, depth + 1) for member in members)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONError("invalid JSON: lone surrogate in string") from None
        elif isinstance(item, float) and not math.isfinite(item):
            raise JSONError("invalid JSON: number out of range")


def too_deep(value: Any) -> bool:
    """Whether `value` nests lists and objects deeper than `MAX_DEPTH` (a walk, without
    recursion: for the rare values orjson refused)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        members = item.values() if isinstance(item, dict) else item
        stack.extend((m, depth + 1) for m in members if isinstance(m, dict | list | tuple))
    return False


def dumps(obj: Any) -> bytes:
    """Canonical JSON (sorted keys, compact, UTF-8) so equal content hashes equal.
    Raises NestingError for a value nested deeper than `MAX_DEPTH`."""
    try:
        return orjson.dumps(obj, option=DUMP_OPTS)
    except TypeError:
        if isinstance(obj, dict | list | tuple) and too_deep(obj):
            raise NestingError from None
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
