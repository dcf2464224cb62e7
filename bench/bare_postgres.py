"""The bare-driver limit on PostgreSQL: the least work that keeps raw bytes and typed rows.

Reads JSON Lines, parses each line with orjson, converts the bench convention's seven
columns to their SQL types the way the `order` convention does (timestamp → datetime,
decimal → Decimal, integer, boolean, text), and sends, per batch of BATCH lines, one
binary COPY of raw rows and one binary COPY of typed rows, all in ONE transaction.
The tables are minimal but carry the same unique keys as ingestry's (raw: source id +
sha256 of the bytes; records: source type + source id), so the server does the index
work a keyed store must do; `metadata` is jsonb (the line itself). No staging, no
dedupe check, no hashes beyond the key's sha256, no history, no envelope columns.
Whatever ingestry does on top of this is overhead to justify.

    python bench/bare_postgres.py ORDERS.jsonl POSTGRES_URL   # prints {"received": N, ...}
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

BATCH = 10_000  # lines per pair of COPYs; one transaction overall, memory stays flat

SCHEMA = (
    "CREATE TABLE raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " source_id text NOT NULL, sha256 bytea NOT NULL, payload bytea NOT NULL,"
    " UNIQUE (source_id, sha256))",
    "CREATE TABLE records (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " source_type text NOT NULL, source_id text NOT NULL, order_number text,"
    " created_at timestamptz NOT NULL, total numeric, currency text, email text,"
    " item_count bigint, paid boolean, metadata jsonb NOT NULL,"
    " UNIQUE (source_type, source_id))",
)
RAW_COPY = "COPY raw (source_id, sha256, payload) FROM STDIN (FORMAT BINARY)"
RAW_TYPES = ["text", "bytea", "bytea"]
RECORD_COPY = (
    "COPY records (source_type, source_id, order_number, created_at, total, currency,"
    " email, item_count, paid, metadata) FROM STDIN (FORMAT BINARY)"
)
RECORD_TYPES = [
    "text", "text", "text", "timestamptz", "numeric", "text", "text", "int8", "bool", "jsonb",
]  # fmt: skip

RawRow = tuple[str, bytes, bytes]
RecordRow = tuple[Any, ...]

_sha256 = hashlib.sha256


class JsonTextDumper(Dumper):
    """jsonb in binary COPY from JSON text already in hand: version byte + the text
    (psycopg's own dumper would serialize a Python object again)."""

    format = Format.BINARY
    oid = psycopg.adapters.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + obj


class _JsonText(bytes):
    """Marker type the dumper is registered for (COPY picks it by the jsonb oid)."""


def row_pair(line: bytes) -> tuple[RawRow, RecordRow]:
    """Parse one line; convert the seven declared columns as the `order` convention does."""
    doc = orjson.loads(line)
    customer = doc.get("customer") or {}
    items = doc.get("line_items") or [{}]
    financial = doc.get("financial") or {}
    source_id = doc["id"]
    total = doc.get("total_price")
    quantity = items[0].get("quantity")
    record = (
        doc.get("type"),
        source_id,
        doc.get("order_number"),
        datetime.fromisoformat(doc["created_at"]),
        None if total is None else Decimal(total),
        doc.get("currency"),
        customer.get("email"),
        None if quantity is None else int(quantity),
        financial.get("paid"),
        line,
    )
    return (source_id, _sha256(line).digest(), line), record


def batches(path: Path) -> Iterator[tuple[list[RawRow], list[RecordRow]]]:
    """Read the file line by line and yield BATCH-sized lists of raw and typed rows."""
    raws: list[RawRow] = []
    records: list[RecordRow] = []
    with path.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            raw, record = row_pair(line.rstrip(b"\r\n"))
            raws.append(raw)
            records.append(record)
            if len(raws) >= BATCH:
                yield raws, records
                raws, records = [], []
    if raws:
        yield raws, records


def copy(conn: psycopg.Connection[Any], sql: str, types: list[str], rows: list[Any]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as out:
        out.set_types(types)
        write = out.write_row
        for row in rows:
            write(row)


def load(path: Path, url: str) -> int:
    """Create the tables, then write every line in one transaction; return the count."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.adapters.register_dumper(_JsonText, JsonTextDumper)
        conn.execute("SET TIME ZONE 'UTC'")
        for statement in SCHEMA:
            conn.execute(statement)
        count = 0
        with conn.transaction():
            for raws, records in batches(path):
                copy(conn, RAW_COPY, RAW_TYPES, raws)
                copy(conn, RECORD_COPY, RECORD_TYPES, records)
                count += len(raws)
        row = conn.execute("SELECT (SELECT count(*) FROM raw), (SELECT count(*) FROM records)")
        stored = row.fetchone()
    if stored is None or stored[0] != count or stored[1] != count:
        raise SystemExit(f"bare_postgres: wrote {count}, tables hold {stored}")
    return count


def main() -> None:
    """Time `load` and print the count and seconds as one JSON object."""
    source, url = Path(sys.argv[1]), sys.argv[2]
    start = time.perf_counter()
    count = load(source, url)
    seconds = time.perf_counter() - start
    sys.stdout.buffer.write(orjson.dumps({"received": count, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
