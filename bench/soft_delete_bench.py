"""Soft delete's read and write costs on SQLite (docs/deleting.md), bare sqlite3 in one
run: a table shaped like a record table, N rows, some tombstones.

- count: bare `count(*)` (the limit), the filtered count every read uses
  (`LIVE`), and the count `SQLiteStorage.count_records` runs (`live_count`);
- a page of 1,000 in identity order, with and without the filter;
- the road not taken: insert and update CPU with a partial index of tombstones.

CPU seconds (process time), best of `--repeat`: the machine is shared, wall time says
little. `python bench/soft_delete_bench.py [--n 500000] [--deleted 500] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ingestry.adapters.sql.deletion import LIVE, TOMBSTONE, live_count

TABLE = "records_thing"
SCHEMA = (
    f'CREATE TABLE "{TABLE}" (id INTEGER PRIMARY KEY, source_type TEXT, upstream TEXT,'
    " source_id TEXT, source TEXT, metadata TEXT, content_hash BLOB, version INT, a TEXT,"
    " b REAL, UNIQUE (source_type, upstream, source_id))"
)
DELETIONS = (
    "CREATE TABLE record_deletions (convention TEXT, source_type TEXT, upstream TEXT,"
    " source_id TEXT); CREATE INDEX ix_d ON record_deletions (convention)"
)
INSERT = (
    f'INSERT INTO "{TABLE}" (source_type, upstream, source_id, source, metadata,'
    " content_hash, version, a, b) VALUES (?,?,?,?,?,?,?,?,?)"
)


def rows(n: int) -> list[tuple[object, ...]]:
    meta = '{"k":"' + "v" * 200 + '"}'
    return [
        ("harvest", "src", f"ID-{i:08d}", '{"type":"harvest"}', meta,
         hashlib.blake2b(str(i).encode(), digest_size=16).digest(), 1, "text" * 5, i * 1.5)
        for i in range(n)
    ]  # fmt: skip


def best(repeat: int, work: Callable[[], object]) -> float:
    out = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        out = min(out, time.process_time() - start)
    return round(out, 4)


def reads(path: Path, n: int, deleted: int, repeat: int) -> dict[str, float]:
    conn = sqlite3.connect(path)
    conn.execute(SCHEMA)
    conn.executescript(DELETIONS)
    conn.executemany(INSERT, rows(n))
    step = max(1, n // max(deleted, 1))
    conn.execute(f"UPDATE \"{TABLE}\" SET content_hash = x'' WHERE id % {step} = 0")
    conn.execute(
        f"INSERT INTO record_deletions SELECT 'thing', source_type, upstream, source_id"
        f' FROM "{TABLE}" WHERE {TOMBSTONE}'
    )
    conn.commit()

    def q(sql: str, *params: object) -> Callable[[], object]:
        return lambda: conn.execute(sql, params).fetchall()

    order = "ORDER BY source_type, upstream, source_id LIMIT 1000"
    out = {
        "count_bare_s": best(repeat, q(f'SELECT count(*) FROM "{TABLE}"')),
        "count_filtered_s": best(repeat, q(f'SELECT count(*) FROM "{TABLE}" WHERE {LIVE}')),
        "count_live_count_s": best(repeat, q(live_count(TABLE), "thing")),
        "page_bare_s": best(repeat, q(f'SELECT * FROM "{TABLE}" {order}')),
        "page_filtered_s": best(repeat, q(f'SELECT * FROM "{TABLE}" WHERE {LIVE} {order}')),
    }
    live = conn.execute(live_count(TABLE), ("thing",)).fetchone()[0]
    assert live == conn.execute(f'SELECT count(*) FROM "{TABLE}" WHERE {LIVE}').fetchone()[0]
    conn.close()
    return out


def writes(tmp: Path, n: int, repeat: int) -> dict[str, float]:
    data = rows(n)
    updates = [(b"\x01" * 16, *r[:3]) for r in data[: n // 3]]

    def once(partial: bool) -> tuple[float, float]:
        path = tmp / f"w{int(partial)}.db"
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path)
        conn.execute(SCHEMA)
        if partial:
            conn.execute(f'CREATE INDEX ix_t ON "{TABLE}" (id) WHERE {TOMBSTONE}')
        start = time.process_time()
        conn.executemany(INSERT, data)
        conn.commit()
        inserted = time.process_time() - start
        start = time.process_time()
        conn.executemany(
            f'UPDATE "{TABLE}" SET content_hash = ?, version = 2 WHERE source_type = ?'
            " AND upstream = ? AND source_id = ?",
            updates,
        )
        conn.commit()
        conn.close()
        return inserted, time.process_time() - start

    plain, partial = [once(False) for _ in range(repeat)], [once(True) for _ in range(repeat)]
    return {
        "insert_s": round(min(p[0] for p in plain), 4),
        "insert_partial_index_s": round(min(p[0] for p in partial), 4),
        "update_s": round(min(p[1] for p in plain), 4),
        "update_partial_index_s": round(min(p[1] for p in partial), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500_000)
    parser.add_argument("--deleted", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {"n": args.n, "deleted": args.deleted}
        result |= reads(Path(tmp) / "r.db", args.n, args.deleted, args.repeat)
        result |= writes(Path(tmp), min(args.n, 300_000), args.repeat)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
