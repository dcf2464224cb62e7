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
                  published_at updated_at id

The writer adds those (ids drawn at write time; the write's moment) with one
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
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import psycopg
from psycopg import abc
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.pq import Format
from psycopg.types.string import BytesBinaryDumper

from ingestry.adapters.postgres.binary import JsonTextDumper, _JsonText, column_types, converters
from ingestry.adapters.postgres.rows import clean_text, escaped_raw, record_stage_rows
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
#: The record table's columns in wire order: `RECORD_HEAD`, the declared columns, then
#: `RECORD_TAIL` (metadata from the batch's tuples, the rest from the writer).
RECORD_HEAD = (
    "source_type, source_id, source, data_source, content_hash, extractor_version, raw_sha256,"
    " upstream"
)
RECORD_TAIL = "metadata, version, published_at, updated_at, id"
# `source` goes as bytea holding jsonb's binary form (version byte + text): the same
# bytes as the jsonb dumper's, through psycopg's C dumper instead of a Python one
_RECORD_PART = ["text", "text", "bytea", "text", "bytea", "text", "bytea", "text"]
# what the worker formats: `source` as text holding that binary form (the same bytes)
_WORKER_RECORD_PART = ["text", "text", "text", "text", "bytea", "text", "bytea", "text"]

_COUNT = struct.Struct(">h")
_ID = struct.Struct(">iq")  # one int8 field: length 8, value
#: version (int4), published_at, updated_at (timestamptz), id (int8)
_TAIL = struct.Struct(">iiiqiqiq")
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


def record_tails(now: datetime, ids: Iterable[int]) -> Iterable[bytes]:
    """version = 1, published_at = updated_at = `now`, then each id: the last four
    fields of each row (one C-level `pack` a row)."""
    delta = now - _PG_EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    fields = (repeat(4), repeat(1), repeat(8), repeat(micros), repeat(8), repeat(micros))
    return map(_TAIL.pack, *fields, repeat(8), ids)


def record_block(rows: Sequence[bytes], now: datetime, ids: Sequence[int]) -> Block:
    """Record table COPY data: the worker's rows, each followed by its tail and id (the
    writer draws the ids, so it can write the batch's changes-feed rows itself)."""
    body = b"".join(chain.from_iterable(zip(rows, record_tails(now, ids), strict=True)))
    return SIGNATURE, body, TRAILER


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
    """`(raw rows, record rows, payload bytes) -> Wire`, run where the batch is prepared.

    The wire holds `raw` (a row per raw row, batch order, without its id), `received`
    (the batch's distinct receipt moments), `lines` and `arrivals` (each row's line;
    the distinct (moment, origin) pairs), `keys` and `key_order` (key order, without
    raw ids; only when no key repeats in the batch), and `records` (identity order,
    without version and moments) with `srn_lines` (their srns, row order, for the
    outbox; both only when the records can go straight in), and `complete` when that is
    everything: then the writer never needs the row tuples for a batch of new rows
    (see `preparation.LeanPolicy`).

    Fields that are the same for a whole batch (source, receipt moments, extractor
    version, origin, provenance type, …) are encoded once, by psycopg's formatter, and
    cached; a row's own fields are framed with `struct` and joined, which is what the
    formatter does for text and bytea. `payloads`, the batch's payload bytes, let one
    scan show that no value derived from them needs escaping (see `clean_payloads`)."""

    def __init__(self, convention: Convention) -> None:
        self.convention = convention
        context = _Context()
        self._payload_row = _transformer(context, [*_PAYLOAD_PART, "bytea"])
        self._key_row = _transformer(context, ["text", "text", "bytea", "timestamptz"])
        self._record_row = _transformer(
            context, [*_WORKER_RECORD_PART, *column_types(convention), "text"]
        )
        self._record_values = _record_values(convention)
        self._moments: dict[str | None, datetime | None] = {None: None}

    def __call__(
        self, raw: Sequence[RawRow], records: Sequence[RecordRow], payloads: bytes | None = None
    ) -> Wire | None:
        """The batch's wire; None when no part of it can be encoded. `payloads`: the
        bytes every value of the rows was read from (None when not known, as for a
        Python extractor's values), for the batch-level escape check."""
        if format_row_binary is None:
            return None
        clean = payloads is not None and clean_payloads(payloads)
        wire: Wire = {}
        try:
            if raw:
                self._raw(raw, wire, clean)
            if records:
                self._records(records, wire, clean)
        except (psycopg.DataError, ValueError, OverflowError, TypeError):
            return None  # a value binary cannot carry: the writer's own paths report it
        # everything a batch of new rows writes: the row tuples are not needed for it
        wire["complete"] = (not raw or "keys" in wire) and (not records or "records" in wire)
        return wire

    def _moments_of(self, rows: Sequence[RawRow]) -> dict[str | None, datetime | None]:
        moments = self._moments
        for text in {r[6] for r in rows} | {r[7] for r in rows}:
            if text not in moments:
                moments[text] = datetime.fromisoformat(text)  # type: ignore[arg-type]
        return moments

    def _raw(self, rows: Sequence[RawRow], wire: Wire, clean: bool) -> None:
        # origins (file names) and errors (reasons) are not read from the payloads
        if not (clean and clean_text({r[11] for r in rows}) and clean_text(r[9] for r in rows)):
            rows = escaped_raw(rows)
        m = self._moments_of(rows)
        wire["raw"] = _counted(
            self._payload_row,
            [(r[0], r[1], r[2], r[3], r[5], m[r[6]], m[r[7]], r[8], r[9], r[10], r[11], r[4])
             for r in rows],
            len(PAYLOAD_COLUMNS),
        )  # fmt: skip
        wire["received"] = sorted({r[6] for r in rows})
        # for the receipts of a direct append (see `raw.append_direct`)
        wire["lines"] = [r[10] for r in rows]
        wire["arrivals"] = sorted({(r[6], r[11]) for r in rows}, key=str)
        keys = list(map(_KEY, rows))
        if len(set(keys)) != len(rows):
            return  # a key repeats: the claim decides which row is stored
        order = sorted(range(len(rows)), key=keys.__getitem__)
        wire["keys"] = _counted(
            self._key_row,
            [(r[0], r[2], r[3], m[r[6]]) for r in map(rows.__getitem__, order)],
            len(KEY_COLUMNS),
        )
        wire["key_order"] = order

    def _records(self, rows: Sequence[RecordRow], wire: Wire, clean: bool) -> None:
        identities = list(map(_IDENTITY, rows))
        if len(set(identities)) != len(rows):
            return  # an identity repeats: rounds, on the staged path
        if (
            not (clean and clean_text({r[9] for r in rows}))
            and record_stage_rows(self.convention, rows)[2]
        ):
            return  # values to escape: the staged path
        order = sorted(range(len(rows)), key=identities.__getitem__)
        wire["records"] = _counted(
            self._record_row,
            list(map(self._record_values, map(rows.__getitem__, order))),
            len(_RECORD_PART) + len(self.convention.columns) + 5,
        )
        # the outbox lines of a batch of new records, in row order (see NewRecords)
        name = self.convention.name
        srns = change_srns([(name, r[0], r[9], r[1], 1) for r in rows])
        wire["srn_lines"] = ("\n".join(srns) + "\n").encode()


_KEY = itemgetter(0, 2, 3)  # a raw row's key (source, source id, sha256)
_IDENTITY = itemgetter(0, 9, 1)  # a record row's identity (type, upstream, source id)


def _counted(tx: abc.Transformer, values: list[tuple[Any, ...]], count: int) -> list[bytes]:
    """Each row's `values` as psycopg's binary formatter writes them (one C call a row),
    its field count raised to `count`: the fields the writer appends (ids, version,
    moments) are counted, not written."""
    rows = [bytearray() for _ in values]
    deque(map(_formatter(), values, repeat(tx), rows), maxlen=0)  # it appends to each
    head = _COUNT.pack(count)
    for row in rows:
        row[:2] = head
    return rows  # type: ignore[return-value]  # bytearrays: marshal sends them as bytes


def _record_values(convention: Convention) -> Callable[[RecordRow], tuple[Any, ...]]:
    """A record row → the values the worker writes of it, in wire order: `RECORD_HEAD`,
    the declared columns converted for binary COPY (`binary.converters`), metadata; the
    JSON texts (source, metadata) as jsonb's binary form (version byte, then the text),
    written as text. One generated function: no loop over columns per row."""
    found = dict(converters(convention))
    cells = [
        f"_f{i}(c[{i}]) if c[{i}] is not None else None" if i in found else f"c[{i}]"
        for i in range(len(convention.columns))
    ]
    head = 'r[0], r[1], "\\x01" + r[2], r[3], r[5], r[6], r[7], r[9]'
    namespace: dict[str, Any] = {f"_f{i}": fn for i, fn in found.items()}
    code = f"def values(r):\n    c = r[8]\n    return ({head}, {''.join(x + ', ' for x in cells)}"
    exec(code + '"\\x01" + r[4])\n', namespace)
    fn: Callable[[RecordRow], tuple[Any, ...]] = namespace["values"]
    return fn


#: JSON escapes of U+0000 and MARK (U+E000; either case of hex digit).
_ESCAPES = (b"\\u0000", b"\\ue000", b"\\uE000")


def clean_payloads(payloads: bytes) -> bool:
    """Whether no value read from these bytes by a declarative extractor can hold
    U+0000 or MARK (see `text`): a JSON string gets one only from the raw character
    or its `\\u` escape, a CSV cell only from the raw character. Single bytes are
    looked for first (memchr speed: no NUL, no MARK lead byte, no backslash at all is
    the common case), the longer sequences only where those occur."""
    if b"\x00" in payloads:
        return False
    if b"\xee" in payloads and "\ue000".encode() in payloads:
        return False
    return b"\\" not in payloads or not any(seq in payloads for seq in _ESCAPES)


def _transformer(context: _Context, types: list[str]) -> abc.Transformer:
    tx = Transformer(context)
    tx.set_dumper_types([context.adapters.types[t].oid for t in types], Format.BINARY)
    return tx


def _formatter() -> Any:
    assert format_row_binary is not None
    return format_row_binary
