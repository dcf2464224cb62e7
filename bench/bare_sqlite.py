"""The bare-driver limit: the least work that still keeps raw bytes and typed columns.

Reads JSON Lines, parses each line with orjson, takes the bench convention's seven
columns (no coercion beyond what a dict lookup gives), and writes the raw bytes plus
one typed row per line with plain `sqlite3.executemany` in ONE transaction (WAL, no
indexes beyond rowid). Whatever ingestry does on top of this is overhead to justify.

    python bench/bare_sqlite.py ORDERS.jsonl DB   # prints {"received": N, "seconds": S}
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

BATCH = 10_000  # rows per executemany; one transaction overall, memory stays flat

SCHEMA = """
CREATE TABLE raw (id INTEGER PRIMARY KEY, source_id TEXT, payload BLOB);
CREATE TABLE records (
    source_id TEXT, order_number TEXT, created_at TEXT, total TEXT, currency TEXT,
    email TEXT, item_count INTEGER, paid INTEGER, metadata TEXT
);
"""
RAW_SQL = "INSERT INTO raw (source_id, payload) VALUES (?, ?)"
RECORD_SQL = "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

RawRow = tuple[str, bytes]
RecordRow = tuple[Any, ...]


def row_pair(line: bytes) -> tuple[RawRow, RecordRow]:
    """Parse one line and take the seven declared columns, as the `order` convention does."""
    doc = orjson.loads(line)
    customer = doc.get("customer") or {}
    items = doc.get("line_items") or [{}]
    financial = doc.get("financial") or {}
    source_id = doc["id"]
    record = (
        source_id,
        doc.get("order_number"),
        doc.get("created_at"),
        doc.get("total_price"),
        doc.get("currency"),
        customer.get("email"),
        items[0].get("quantity"),
        financial.get("paid"),
        line.decode(),
    )
    return (source_id, line), record


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


def load(path: Path, db: Path) -> int:
    """Write every line in one transaction; return how many were written."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    count = 0
    conn.execute("BEGIN")
    for raws, records in batches(path):
        conn.executemany(RAW_SQL, raws)
        conn.executemany(RECORD_SQL, records)
        count += len(raws)
    conn.execute("COMMIT")
    conn.close()
    return count


def main() -> None:
    """Time `load` and print the count and seconds as one JSON object."""
    source, db = Path(sys.argv[1]), Path(sys.argv[2])
    start = time.perf_counter()
    count = load(source, db)
    seconds = time.perf_counter() - start
    sys.stdout.buffer.write(orjson.dumps({"received": count, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
