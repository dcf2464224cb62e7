"""Binary COPY rows encoded in the preparation worker, so the writer only joins bytes.

On two cores an ingest runs three processes: the writer, one preparation worker and
the server backend. The writer and its backend take turns (the writer blocks while a
statement runs), so writer CPU adds straight to wall time, while the worker runs
beside them. Encoding the COPY rows (psycopg's `write_row`: ~2.5 s of writer CPU per
100,000 benchmark rows) therefore moves into the worker. `WireEncoder` formats each
row's fields with psycopg's own binary row formatter (the C one, so the bytes are
those `write_row` would send), in a column order that leaves the fields only the
writer knows for last:

    raw_payloads: [worker: count, source .. origin, payload] id
    records:      [worker: count, source_type .. declared columns, metadata] version
                  published_at updated_at

The writer adds those (raw ids drawn at write time; the write's moment) with one
`bytes.join` per COPY: no Python code per row. The big fields (payload ~830 bytes,
metadata ~880 on the benchmark) travel twice, in the encoded rows and in the tuples
the other paths use; through shared memory (see `parallel`) that costs a copy, where
interleaving them in the writer cost it more (see docs/postgres-write-path.md).

A wire is only an encoding of rows the batch also carries as tuples. The writer uses
it on the paths it fits (new rows COPYed straight into their tables, payloads after a
claim) and the tuples everywhere else; a batch whose values need the per-row path
(U+0000 or the escape mark in a text, an id repeated in the batch, a value the binary
format cannot carry) gets no wire for that part.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import chain, repeat
from typing import Any

import psycopg
from psycopg import abc
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.pq import Format
from psycopg.types.string import BytesBinaryDumper

from ingestry.adapters.postgres.binary import JsonTextDumper, _JsonText, column_types, converters
from ingestry.adapters.postgres.rows import escaped_raw, record_stage_rows
from ingestry.domain.conventions import Convention
from ingestry.domain.records import change_srns
from ingestry.services.ports import RawRow, RecordRow, Wire

try:  # the C row formatter of psycopg's binary build (the Python one otherwise)
    from psycopg._copy_base import format_row_binary
except ImportError:  # pragma: no cover - psycopg moved it: the writer's own paths remain
    format_row_binary = None

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

#: raw_payloads' columns in wire order: the worker's part, then payload and id.
PAYLOAD_COLUMNS = (
    "source", "entity_type", "source_id", "sha256", "header_sha256", "received_at",
    "processed_at", "extractor_version", "error", "line", "origin", "payload", "id",
)  # fmt: skip
_PAYLOAD_PART = [
    "text", "text", "text", "bytea", "bytea", "timestamptz", "timestamptz", "text", "text",
    "int4", "text",
]  # fmt: skip
KEY_COLUMNS = ("source", "source_id", "sha256", "received_at", "raw_id")
_KEY_PART = ["text", "text", "bytea", "timestamptz"]
#: The record table's columns in wire order: `RECORD_HEAD`, the declared columns, then
#: `RECORD_TAIL` (metadata from the batch's tuples, the rest from the writer).
RECORD_HEAD = (
    "source_type, source_id, source, data_source, content_hash, extractor_version, raw_sha256"
)
RECORD_TAIL = "metadata, version, published_at, updated_at"
# `source` goes as bytea holding jsonb's binary form (version byte + text): the same
# bytes as the jsonb dumper's, through psycopg's C dumper instead of a Python one
_RECORD_PART = ["text", "text", "bytea", "text", "bytea", "text", "bytea"]

_COUNT = struct.Struct(">h")
_LENGTH = struct.Struct(">i")
_JSONB_LENGTH = struct.Struct(">ib")  # field length, then jsonb's version byte (1)
_ID = struct.Struct(">iq")  # one int8 field: length 8, value
_TAIL = struct.Struct(">iiiqiq")  # version (int4), published_at, updated_at (timestamptz)
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _id_fields(ids: Iterable[int]) -> Iterable[bytes]:
    return map(_ID.pack, repeat(8), ids)


#: COPY data as the pieces to write: framing, then one join of the rows (no further copy).
Block = tuple[bytes, ...]


def payload_block(rows: Sequence[bytes], ids: Iterable[int]) -> Block:
    """raw_payloads COPY data: the worker's rows, each followed by its raw id."""
    body = b"".join(chain.from_iterable(zip(rows, _id_fields(ids), strict=True)))
    return SIGNATURE, body, TRAILER


def key_block(keys: Sequence[bytes], ids: Iterable[int]) -> Block:
    """raw_keys COPY data: the worker's key rows (key order) and each one's raw id."""
    return payload_block(keys, ids)


def record_tail(now: datetime) -> bytes:
    """version = 1, published_at = updated_at = `now`: the last three fields."""
    delta = now - _PG_EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return _TAIL.pack(4, 1, 8, micros, 8, micros)


def record_block(rows: Sequence[bytes], now: datetime) -> Block:
    """Record table COPY data: the worker's rows, each followed by the same tail."""
    if not rows:
        return SIGNATURE, TRAILER
    tail = record_tail(now)
    return SIGNATURE, tail.join(rows), tail, TRAILER


def write_block(copy: psycopg.Copy, block: Block) -> None:
    for piece in block:
        copy.write(piece)


class _Context:
    """An adapt context without a connection: the global adapters, with the C dumper
    for bytea (psycopg registers a pure-Python one for `Binary` last, which by-oid
    lookup would pick) and jsonb from JSON text in hand (see `binary.register`)."""

    connection = None

    def __init__(self) -> None:
        self.adapters = AdaptersMap(psycopg.adapters)
        self.adapters.register_dumper(bytes, BytesBinaryDumper)
        oid = self.adapters.types["jsonb"].oid
        dumper = type("JsonbTextDumper", (JsonTextDumper,), {"oid": oid})
        self.adapters.register_dumper(_JsonText, dumper)


class WireEncoder:
    """`(raw rows, record rows) -> Wire`, run where the batch is prepared.

    The wire holds `raw` (a row per raw row, batch order, without its id), `received`
    (the batch's distinct receipt moments), `keys` and `key_order` (key order, without
    raw ids; only when no key repeats in the batch), and `records` (identity order,
    without version and moments) with `srn_lines` (their srns, row order, for the
    outbox; both only when the records can go straight in). With them the writer never
    needs the row tuples, which travel packed (`adapters.parallel`)."""

    def __init__(self, convention: Convention) -> None:
        self.convention = convention
        context = _Context()
        self._payload = _transformer(context, _PAYLOAD_PART)
        self._key = _transformer(context, _KEY_PART)
        self._record = _transformer(context, _RECORD_PART + column_types(convention))
        self._record_count = _COUNT.pack(len(_RECORD_PART) + len(convention.columns) + 4)
        # positions in a flat record row (envelope, then columns) that need a conversion
        self._convert = tuple((8 + i, fn) for i, fn in converters(convention))
        self._moments: dict[str | None, datetime | None] = {None: None}

    def __call__(self, raw: Sequence[RawRow], records: Sequence[RecordRow]) -> Wire | None:
        """The batch's wire; None when no part of it can be encoded."""
        if format_row_binary is None:
            return None
        wire: Wire = {}
        try:
            if raw:
                self._raw(raw, wire)
            if records:
                self._records(records, wire)
        except (psycopg.DataError, ValueError, OverflowError, TypeError):
            return None  # a value binary cannot carry: the writer's own paths report it
        return wire or None

    def _moments_of(self, rows: Sequence[RawRow]) -> dict[str | None, datetime | None]:
        moments = self._moments
        for text in {r[6] for r in rows} | {r[7] for r in rows}:
            if text not in moments:
                moments[text] = datetime.fromisoformat(text)  # type: ignore[arg-type]
        return moments

    def _raw(self, rows: Sequence[RawRow], wire: Wire) -> None:
        rows = escaped_raw(rows)
        moment = self._moments_of(rows)
        fmt = _formatter()
        tx = self._payload
        count = _COUNT.pack(len(PAYLOAD_COLUMNS))
        parts: list[Any] = []
        for r in rows:
            out = bytearray()
            fmt(
                (r[0], r[1], r[2], r[3], r[5], moment[r[6]], moment[r[7]], r[8], r[9], r[10],
                 r[11]),
                tx, out,
            )  # fmt: skip
            out[:2] = count
            out += _LENGTH.pack(len(r[4]))
            out += r[4]
            parts.append(out)
        wire["raw"] = parts
        wire["received"] = sorted({r[6] for r in rows})
        if len({(r[0], r[2], r[3]) for r in rows}) != len(rows):
            return  # a key repeats: the claim decides which row is stored
        order = sorted(range(len(rows)), key=lambda n: (rows[n][0], rows[n][2], rows[n][3]))
        tx = self._key
        count = _COUNT.pack(len(KEY_COLUMNS))
        keys: list[Any] = []
        for n in order:
            r = rows[n]
            out = bytearray()
            fmt((r[0], r[2], r[3], moment[r[6]]), tx, out)
            out[:2] = count
            keys.append(out)
        wire["keys"] = keys
        wire["key_order"] = order

    def _records(self, rows: Sequence[RecordRow], wire: Wire) -> None:
        flat, _, full = record_stage_rows(self.convention, rows)
        if full:  # ids repeated in the batch, or values to escape: the staged path
            return
        order = sorted(range(len(flat)), key=lambda n: (flat[n][0], flat[n][1]))
        fmt = _formatter()
        tx = self._record
        count = self._record_count
        convert = self._convert
        parts: list[Any] = []
        for n in order:
            r: Any = flat[n]
            if convert:
                r = list(r)
                for i, fn in convert:
                    value = r[i]
                    if value is not None:
                        r[i] = fn(value)
            out = bytearray()
            fmt((r[0], r[1], b"\x01" + r[2].encode(), r[3], r[5], r[6], r[7], *r[8:]), tx, out)
            out[:2] = count
            metadata = r[4].encode()
            out += _JSONB_LENGTH.pack(len(metadata) + 1, 1)
            out += metadata
            parts.append(out)
        wire["records"] = parts
        # the outbox lines of a batch of new records, in row order (see NewRecords)
        name = self.convention.name
        srns = change_srns([(name, r[0], r[1], 1) for r in rows])
        wire["srn_lines"] = ("\n".join(srns) + "\n").encode()


def _transformer(context: _Context, types: list[str]) -> abc.Transformer:
    tx = Transformer(context)
    tx.set_dumper_types([context.adapters.types[t].oid for t in types], Format.BINARY)
    return tx


def _formatter() -> Any:
    assert format_row_binary is not None
    return format_row_binary
