"""The receipts' statements alone, old layout against the compact one (docs/receipts.md):
100,000 re-received payloads in batches of 5,000, four rounds interleaved, beside the
bare dedupe lookup they replace or join (the limit). SQLite: CPU seconds in process;
PostgreSQL (`--postgres URL`): statement seconds, in a scratch schema dropped after.

    .venv/bin/python bench/receipts_micro.py [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

N, B, ROUNDS = 100_000, 5_000, 4
RUN = "srn:ingestry:run:0123456789abcdef0123456789abcdef"
AT = "2026-12-03T04:00:00.123456+00:00"
ORIGIN = "/tmp/bench/out/orders-n100000-s42.jsonl"
MODES = ("none", "old", "compact")
RAW = (
    "CREATE TABLE raw_payloads (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT,"
    " source_id TEXT, sha256 BLOB, payload BLOB, received_at TEXT, line INT, origin TEXT,"
    " UNIQUE (source, source_id, sha256))"
)
LAYOUT = {
    "old": "id INTEGER PRIMARY KEY AUTOINCREMENT, raw_id INT NOT NULL, run_srn TEXT,"
    " received_at TEXT NOT NULL, origin TEXT, line INT, container TEXT, container_sha256 BLOB",
    "compact": "id INTEGER PRIMARY KEY AUTOINCREMENT, raw_id INT NOT NULL, line INT,"
    " batch_id INT NOT NULL",
}


def sqlite_store(path: Path, mode: str) -> tuple[sqlite3.Connection, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(RAW)
    conn.execute(
        "CREATE TABLE raw_receipt_batches (id INTEGER PRIMARY KEY AUTOINCREMENT, run_srn TEXT,"
        " received_at TEXT, origin TEXT, container TEXT, container_sha256 BLOB)"
    )
    conn.execute(f"CREATE TABLE raw_receipts ({LAYOUT.get(mode, LAYOUT['old'])})")
    conn.execute("CREATE INDEX ix ON raw_receipts (raw_id, id)")
    rows = [
        ("orders", f"O-{i:07d}", hashlib.sha256(str(i).encode()).digest(),
         b'{"id":%d,"name":"%s"}' % (i, b"x" * 60), AT, i + 1, ORIGIN)
        for i in range(N)
    ]  # fmt: skip
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO raw_payloads (source, source_id, sha256, payload, received_at, line,"
        " origin) VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")
    return conn, rows


def sqlite_round(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], mode: str) -> float:
    start = time.process_time()
    for lo in range(0, N, B):
        part = rows[lo : lo + B]
        conn.execute("BEGIN")
        if mode == "none":  # the conflict check a re-ingest paid before receipts
            conn.executemany(
                "INSERT INTO raw_payloads (source, source_id, sha256, payload, received_at,"
                " line, origin) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                part,
            )
        elif mode == "old":
            conn.executemany(
                "INSERT INTO raw_receipts (raw_id, run_srn, received_at, origin, line,"
                " container, container_sha256) SELECT id, ?, ?, ?, ?, NULL, NULL"
                " FROM raw_payloads WHERE source = ? AND source_id = ? AND sha256 = ?",
                [(RUN, r[4], r[6], r[5], r[0], r[1], r[2]) for r in part],
            )
        else:
            batch = conn.execute(
                "INSERT INTO raw_receipt_batches (run_srn, received_at, origin) VALUES (?,?,?)",
                (RUN, AT, ORIGIN),
            ).lastrowid
            conn.executemany(
                "INSERT INTO raw_receipts (raw_id, batch_id, line) SELECT id, ?, ?"
                " FROM raw_payloads WHERE source = ? AND source_id = ? AND sha256 = ?",
                [(batch, r[5], r[0], r[1], r[2]) for r in part],
            )
        conn.execute("COMMIT")
    return time.process_time() - start


def sqlite_bench() -> None:
    with tempfile.TemporaryDirectory(prefix="receipts-micro-") as tmp:
        stores = {m: sqlite_store(Path(tmp) / f"{m}.db", m) for m in MODES}
        seen: dict[str, list[float]] = {m: [] for m in MODES}
        for _ in range(ROUNDS):
            for mode in MODES:
                seen[mode].append(sqlite_round(*stores[mode], mode))
        for mode in MODES:
            size = (Path(tmp) / f"{mode}.db").stat().st_size / 1e6
            print(f"sqlite {mode:<8} cpu s {' '.join(f'{x:.3f}' for x in seen[mode])}"
                  f"  best {min(seen[mode]):.3f} median {statistics.median(seen[mode]):.3f}"
                  f"  file {size:.1f} MB")  # fmt: skip


_KEYS = (
    "FROM generate_series(%(lo)s::int, %(hi)s::int) i JOIN raw_keys k ON k.source = 'orders'"
    " AND k.source_id = 'O-' || lpad(i::text, 7, '0') AND k.sha256 = sha256(i::text::bytea)"
)
PG = {
    "none": f"SELECT count(k.raw_id) {_KEYS}",
    "old": "INSERT INTO old_receipts (raw_id, run_srn, received_at, origin, line)"
    f" SELECT k.raw_id, %(run)s, %(at)s::timestamptz, %(origin)s, i {_KEYS} ORDER BY i",
    "compact": "WITH b AS (INSERT INTO raw_receipt_batches (run_srn, received_at, origin)"
    " SELECT %(run)s, %(at)s::timestamptz, %(origin)s RETURNING id)"
    " INSERT INTO new_receipts (raw_id, batch_id, line)"
    f" SELECT k.raw_id, b.id, i {_KEYS.replace('FROM ', 'FROM b, ', 1)} ORDER BY i",
}


def postgres_bench(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS receipts_micro CASCADE")
        conn.execute("CREATE SCHEMA receipts_micro")
        conn.execute("SET search_path = receipts_micro")
        try:
            conn.execute(
                'CREATE TABLE raw_keys (source text COLLATE "C", source_id text COLLATE "C",'
                " sha256 bytea, raw_id int8, PRIMARY KEY (source, source_id, sha256))"
            )
            conn.execute(
                "INSERT INTO raw_keys SELECT 'orders', 'O-' || lpad(i::text, 7, '0'),"
                " sha256(i::text::bytea), i FROM generate_series(1, %s) i",
                (N,),
            )
            conn.execute(
                "CREATE TABLE old_receipts (id bigserial PRIMARY KEY, raw_id int8 NOT NULL,"
                " run_srn text, received_at timestamptz NOT NULL, origin text, line int4,"
                " container text, container_sha256 bytea)"
            )
            conn.execute(
                "CREATE TABLE raw_receipt_batches (id bigserial PRIMARY KEY, run_srn text,"
                " received_at timestamptz NOT NULL, origin text, container text,"
                " container_sha256 bytea)"
            )
            conn.execute(
                "CREATE TABLE new_receipts (id bigserial PRIMARY KEY, raw_id int8 NOT NULL,"
                " line int4, batch_id int8 NOT NULL)"
            )
            for table in ("old_receipts", "new_receipts"):
                conn.execute(f"CREATE INDEX ON {table} (raw_id, id)")
            conn.execute("ANALYZE")
            params = {"run": RUN, "at": AT, "origin": ORIGIN}
            seen: dict[str, list[float]] = {m: [] for m in MODES}
            for _ in range(ROUNDS):
                for mode in MODES:
                    start = time.perf_counter()
                    for lo in range(1, N + 1, B):
                        conn.execute(PG[mode], {**params, "lo": lo, "hi": lo + B - 1})
                    seen[mode].append(time.perf_counter() - start)
            for mode in MODES:
                print(f"postgres {mode:<8} s {' '.join(f'{x:.3f}' for x in seen[mode])}"
                      f"  best {min(seen[mode]):.3f}")  # fmt: skip
            for table in ("old_receipts", "new_receipts", "raw_receipt_batches"):
                size = conn.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()
                print(f"postgres {table} {size[0] / 1e6 if size else 0:.1f} MB")
        finally:
            conn.execute("DROP SCHEMA receipts_micro CASCADE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=None, help="also measure on this server")
    args = parser.parse_args(argv)
    sqlite_bench()
    if args.postgres:
        postgres_bench(args.postgres)
    return 0


if __name__ == "__main__":
    sys.exit(main())
