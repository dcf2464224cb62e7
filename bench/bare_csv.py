"""The bare limit for a narrow CSV (issue 16): csv.reader + executemany of the raw line
and the typed row, one transaction, unique keys; no hashing, no envelope, no provenance.

    python bench/bare_csv.py FILE URL [--options]

URL is sqlite:///path or postgresql://…; --options reads the semicolon file with a
decimal comma and slash dates (the read options' file). Prints {"received", "seconds"}.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

BATCH = 5000
RAW = "CREATE TABLE raw_rows (id TEXT PRIMARY KEY, line BLOB NOT NULL)"
TYPED = (
    "CREATE TABLE rows (id TEXT PRIMARY KEY, day TEXT, carrier TEXT, flight INTEGER, "
    "dep_delay DOUBLE PRECISION, distance DOUBLE PRECISION, price NUMERIC)"
)


def typed(cells: list[str], options: bool) -> tuple[Any, ...]:
    """The 7 declared columns (id, day, carrier, flight, dep_delay, distance, price)."""
    day, delay, distance, price = cells[1], cells[5], cells[8], cells[12]
    if options:
        day = datetime.strptime(day, "%Y/%m/%d").date().isoformat()
        delay, distance, price = (v.replace(",", ".") for v in (delay, distance, price))
    else:
        day = datetime.fromisoformat(day).date().isoformat()
    return (
        cells[0],
        day,
        cells[2],
        int(cells[3]),
        None if delay in ("", "NA") else float(delay),
        float(distance),
        str(Decimal(price)),
    )


def main() -> None:
    path, url = sys.argv[1], sys.argv[2]
    options = "--options" in sys.argv
    start = time.perf_counter()
    if url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        mark = "?"
    else:
        import psycopg

        conn = psycopg.connect(url)
        mark = "%s"
    conn.execute(RAW.replace("BLOB", "BYTEA") if mark == "%s" else RAW)
    conn.execute(TYPED)
    if mark == "?":
        conn.execute("BEGIN")
    raw_sql = f"INSERT INTO raw_rows VALUES ({mark}, {mark})"
    row_sql = f"INSERT INTO rows VALUES ({', '.join([mark] * 7)})"
    received = 0
    encoding = "latin-1" if options else "utf-8"
    with open(path, "rb") as f:  # noqa: PTH123
        header = next(f)
        names = next(csv.reader([header.decode(encoding)], delimiter=";" if options else ","))
        assert len(names) == 19
        raws: list[tuple[str, bytes]] = []
        rows: list[tuple[Any, ...]] = []
        reader = csv.reader(
            (line.decode(encoding) for line in f), delimiter=";" if options else ","
        )
        lines = iter(open(path, "rb"))  # noqa: PTH123, SIM115
        next(lines)
        for cells, line in zip(reader, lines, strict=True):
            raws.append((cells[0], line.rstrip(b"\r\n")))
            rows.append(typed(cells, options))
            if len(rows) >= BATCH:
                cursor = conn.cursor()
                cursor.executemany(raw_sql, raws)
                cursor.executemany(row_sql, rows)
                received += len(rows)
                raws.clear()
                rows.clear()
        if rows:
            cursor = conn.cursor()
            cursor.executemany(raw_sql, raws)
            cursor.executemany(row_sql, rows)
            received += len(rows)
    conn.execute("COMMIT") if mark == "?" else conn.commit()
    conn.close()
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {"received": received, "seconds": round(seconds, 3), "at": str(datetime.now(UTC))}
        )
    )


if __name__ == "__main__":
    main()
