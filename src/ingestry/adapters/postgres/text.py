"""U+0000 on PostgreSQL: text cannot hold it and jsonb rejects the `\\u0000` escape.

SQLite keeps both, and payloads do carry them (a memo with a NUL inside is valid JSON),
so the PostgreSQL adapter escapes them reversibly instead of failing or dropping data:

- in plain text, U+0000 is stored as MARK + "0" and MARK itself as MARK + MARK;
- in JSON text, the `\\u0000` escape is stored as MARK + "0" (inside a string, so a
  jsonb string holds MARK + "0"), and a raw MARK as MARK + MARK.

MARK is U+E000, a private-use character: legal in text and jsonb, and practically never
in data (when it is, it is doubled, so the mapping stays exact). Because an escaped NUL
in a JSON string and an escaped NUL in plain text look alike once stored, text columns
copied into jsonb (record history) decode like any JSON text. Values without NUL or
MARK (all but a few) pass through untouched: the checks are two substring scans.
"""

from __future__ import annotations

import re
from typing import Any

MARK = "\ue000"
_NUL = "\x00"
_JSON_NUL = "\\u0000"

#: A JSON escape (`\\` + one char, so `\\\\u0000` is an escaped backslash, then text)
#: or a raw MARK.
_JSON_TOKENS = re.compile(r"\\u0000|\\.|\ue000", re.DOTALL)
_MARKED = re.compile("\ue000(.)", re.DOTALL)


def needs_text_escape(value: str) -> bool:
    return _NUL in value or MARK in value


def escape_text(value: str) -> str:
    """Plain text → storable text (identity unless it holds U+0000 or MARK)."""
    if _NUL not in value and MARK not in value:
        return value
    return value.replace(MARK, MARK + MARK).replace(_NUL, MARK + "0")


def unescape_text(value: str) -> str:
    if MARK not in value:
        return value
    return _MARKED.sub(lambda m: _NUL if m.group(1) == "0" else m.group(1), value)


def _json_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if token == _JSON_NUL:
        return MARK + "0"
    if token == MARK:
        return MARK + MARK
    return token


def escape_json(text: str) -> str:
    """JSON text → JSON text jsonb accepts (identity unless it holds `\\u0000` or MARK)."""
    if _JSON_NUL not in text and MARK not in text:
        return text
    return _JSON_TOKENS.sub(_json_token, text)


def unescape_json(text: str) -> str:
    """JSON text read back from jsonb (`::text`) → the JSON text that was written."""
    if MARK not in text:
        return text
    return _MARKED.sub(lambda m: _JSON_NUL if m.group(1) == "0" else m.group(1), text)


def sort_keys(value: Any) -> Any:
    """jsonb orders object keys by length, then bytes; ingestry's canonical JSON (and so
    SQLite) orders them by code point. Re-sorting on read keeps output identical."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value
