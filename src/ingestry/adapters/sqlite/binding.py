"""Binding without sqlite3's failed adapter lookups (bench/README.md, stream sqlablate).

Python's sqlite3 binds exact int, float, str and bytearray values as they are; any
other value (bytes, None, bool: about 7 of a raw row's values) is "adapted" first: a
lookup in `sqlite3.adapters`, then `__adapt__` and `__conform__`, each failing with a
formatted AttributeError. A registered adapter is found by the first lookup, and these
are C identities: the same values are bound (bytes as a BLOB, None as NULL, bool as
0 or 1) for ~13,000 fewer instructions a raw row (5.6% of a narrow CSV row's ingest).
"""

from __future__ import annotations

import operator
import sqlite3
from typing import Any

#: Type → an adapter that returns the value sqlite3 would bind anyway. Each is a C
#: method or function called by vectorcall (`bytes.__bytes__` returns an exact bytes
#: object itself; `operator.index(True)` is the int 1), not a type: calling `bytes` or
#: `int` goes through the type's argument parsing, ~3x the cost, and a narrow raw row
#: adapts about five values (bench/README.md, "Cheaper identity adapters").
IDENTITY: dict[type[Any], Any] = {
    bytes: bytes.__bytes__,
    type(None): {}.get,
    bool: operator.index,
}


def register() -> None:
    """Register the identity adapters, process-wide; an adapter the host program
    registered for one of these types first is kept."""
    for kind, adapter in IDENTITY.items():
        sqlite3.adapters.setdefault((kind, sqlite3.PrepareProtocol), adapter)
