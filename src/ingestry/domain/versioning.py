"""The versioning rule: is a record row new, changed or unchanged, and its next version.

Made here once. SQLite's write path applies it row by row (`adapters/sqlite/session.py`),
the in-memory fake of the tests does too, and PostgreSQL's set-based SQL
(`adapters/postgres/records.py`) is held to it by a property test over generated batches
(`tests/contract/test_versioning.py`, run on every backend).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, MutableMapping

#: The version `next_version` answers for a row whose content is what the record holds.
UNCHANGED = 0


def next_version(
    current: tuple[bytes, int] | tuple[bytes, int, int] | None, content_hash: bytes
) -> int:
    """The version a row makes: 1 for a record that does not exist (`current` None), the
    current version + 1 when its content hash differs, `UNCHANGED` (0) when equal.

    `current` is the record's (content hash, version[, rowid]) as the batch has left it:
    rows of one batch apply in order, so an id repeated in a batch versions each time
    its content changes."""
    if current is None:
        return 1
    if current[0] == content_hash:
        return UNCHANGED
    return current[1] + 1


def apply_versions(
    known: MutableMapping[Hashable, tuple[bytes, int]],
    rows: Iterable[tuple[Hashable, bytes]],
) -> list[int]:
    """`next_version` of each (identity, content hash) in order, `known` kept current:
    the model of a batch upsert (what a write path must do, whatever its mechanics)."""
    out: list[int] = []
    for key, content_hash in rows:
        version = next_version(known.get(key), content_hash)
        if version != UNCHANGED:
            known[key] = (content_hash, version)
        out.append(version)
    return out
