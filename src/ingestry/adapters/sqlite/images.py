"""A batch's raw rows and new records bound by the preparation worker, as serialized
SQLite databases ("images"), copied in by the writer with one `INSERT … SELECT` each.

On SQLite the writer's thread is a harvest's critical path, while its preparation
workers are idle three quarters of the time (100,000 items: the writer's thread
~0.6 CPU s, the two workers ~0.25 s each). Binding a record's values costs the writer
more than storing them: building the tuples its statement takes, flattening them
into one parameter list, and sqlite3's per-value bind (which copies every text). So
for an HTTP pull the worker binds each row's own values into an in-memory database
and sends its bytes; the writer deserializes them into an attached schema
(`IMAGE_SCHEMA`) and selects them, the batch's shared values bound once.

Only where the workers have time to spare: in a file ingest they are the critical
path, and an image costs the worker more than it saves the writer (bench/README.md,
"What a 1M narrow CSV ingest spends": 1M rows 12.0 → 14.4 s). So the storage offers
it as `offload_encoder`, which only an HTTP pull's preparation asks for
(`services.writemode.WriteMode.offload`).

The same values reach the same columns: the image's columns have no declared type,
so it keeps each value as sqlite3 bound it (the same adapters: `binding`), and the
record table's affinity applies when the row is inserted, as it does to a bound value.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from ingestry.adapters.sqlite import binding
from ingestry.adapters.sqlite.multirow import insert_rows, picks
from ingestry.adapters.sqlite.shared import own_record_values, own_values, shared_values
from ingestry.domain.conventions import Convention
from ingestry.services.ports import RawRow, RecordRow, Wire

__all__ = [
    "IMAGE_SCHEMA", "RAW_OWN", "RAW_SHARED", "RECORD_SHARED", "ImageEncoder", "attach",
    "image_in", "insert_image", "no_image",
]  # fmt: skip

binding.register()

#: The attached in-memory schema the writer's connection deserializes images into.
IMAGE_SCHEMA = "ingestry_image"
#: A raw row's values the same for a whole batch (source, entity type, header,
#: received_at, processed_at, extractor version, error, origin), and its own.
RAW_SHARED = (0, 1, 5, 6, 7, 8, 9, 11)
RAW_OWN = (2, 3, 4, 10)
#: A new record's values the same for a batch of one source: source type, upstream,
#: data source, extractor version (and the version and times the writer adds).
RECORD_SHARED = (0, 9, 3, 6)
#: A record row's own values before its columns: source id, source, metadata, content
#: hash, raw sha256 (`shared.own_record_values`).
_OWN_HEAD = 5


class ImageEncoder:
    """`(raw rows, record rows, payloads) -> Wire`, run in the preparation worker: the
    raw rows' own values as an image (`wire["raw"]`: the image and its row count) and
    the record rows' own values as another (`wire["records"]`), each when the batch
    shares the values the writer binds once (`RAW_SHARED`, `RECORD_SHARED`): it
    inserts from an image only then."""

    def __init__(self, convention: Convention) -> None:
        self.width = _OWN_HEAD + len(convention.columns)

    def __call__(
        self, raw: Sequence[RawRow], records: Sequence[RecordRow], payloads: bytes | None = None
    ) -> Wire | None:
        wire: Wire = {"complete": False}
        if raw and shared_values(raw, RAW_SHARED) is not None:
            image = image_of(len(RAW_OWN), list(own_values(raw, RAW_OWN)))
            if image is not None:
                wire["raw"] = (image, len(raw))
        if records and shared_values(records, RECORD_SHARED) is not None:
            own = own_record_values(records)
            if set(map(len, own)) == {self.width}:  # else the writer's own path says why
                image = image_of(self.width, own)
                if image is not None:
                    wire["records"] = (image, len(own))
        return wire if len(wire) > 1 else None


def image_in(wire: Wire | None, part: str, rows: Sequence[Any]) -> bytes | None:
    """The wire's image of `part` ("raw" or "records") when it holds `rows`, all of
    them (a batch whose rows changed after it was made has none: `supersede`)."""
    if wire is None or part not in wire:
        return None
    image, count = wire[part]
    return image if count == len(rows) else None


def no_image(
    raw: Sequence[RawRow], records: Sequence[RecordRow], payloads: bytes | None = None
) -> Wire | None:
    """The encoder of a process whose workers must not use SQLite (see `forksafe`)."""
    return None


def image_of(width: int, rows: Sequence[Sequence[Any]]) -> bytes | None:
    """`rows` in table `r` of an in-memory database, serialized; None when a value
    cannot be bound (an integer past 64 bits, a lone surrogate, an unknown type): the
    writer binds that batch itself, and its own path reports the row."""
    conn = _scratch(width)
    try:
        conn.execute("BEGIN")
        conn.execute("DELETE FROM r")
        insert_rows(conn, "INSERT INTO r", width, {}, rows)
        conn.execute("COMMIT")
    except (sqlite3.Error, OverflowError, ValueError, TypeError):
        # no journal to roll back with: the next image starts on a new database
        del _SCRATCH[os.getpid(), width]
        conn.close()
        return None
    return conn.serialize()


#: (process, width) -> the in-memory database images of that width are made in
_SCRATCH: dict[tuple[int, int], sqlite3.Connection] = {}


def _scratch(width: int) -> sqlite3.Connection:
    """One database per worker process and row width, emptied for every image: its
    long multi-row statements are prepared once (a new database for each image took
    1.5-1.9 ms for 1,000 record rows, this 1.1 ms). Keyed by process: a connection is
    never used on both sides of a fork."""
    key = (os.getpid(), width)
    conn = _SCRATCH.get(key)
    if conn is None:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = OFF")  # a failed image is thrown away
        conn.execute(f"CREATE TABLE r ({', '.join(f'c{i}' for i in range(width))})")
        _SCRATCH[key] = conn
    return conn


def attach(conn: sqlite3.Connection) -> None:
    """Attach the (empty) image schema; outside a transaction, as ATTACH must be."""
    conn.execute(f"ATTACH DATABASE ':memory:' AS {IMAGE_SCHEMA}")


def insert_image(
    conn: sqlite3.Connection,
    into: str,
    width: int,
    shared: Mapping[int, Any],
    image: bytes,
    tail: str = "",
) -> int:
    """`into` (`INSERT INTO t (cols)`, `width` values a row) from an image of the rows'
    values not in `shared` (position -> the value of every row), in the image's row
    order, `tail` after (`ON CONFLICT …`); the rows written."""
    conn.deserialize(image, name=IMAGE_SCHEMA)
    positions = tuple(sorted(shared))
    sql = _select(into, width, positions, tail)
    return conn.execute(sql, [shared[i] for i in positions]).rowcount


@cache
def _select(into: str, width: int, shared: tuple[int, ...], tail: str) -> str:
    selected = ", ".join(picks(width, shared, "c{}"))
    # `WHERE true` keeps the parser from reading an ON CONFLICT tail as a join's ON
    select = f"SELECT {selected} FROM {IMAGE_SCHEMA}.r WHERE true ORDER BY rowid"
    return f"{into} {select}{tail}"
