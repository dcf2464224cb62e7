"""Monthly partitions of `raw_payloads`, created on demand before a batch is written.

`raw_payloads` is range-partitioned on `received_at` (UTC months), so retention can
later drop a whole month instead of deleting row by row. A partition is created the
first time a batch needs it: under a transaction-scoped advisory lock, with `CREATE
TABLE IF NOT EXISTS … PARTITION OF`, so concurrent writers (other processes, other
machines) create it once and never fail on each other. There is no default partition:
with one, every new partition would have to scan it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg

#: pg_advisory_xact_lock key (any constant; "ingestry" as int64 would do, this is shorter).
PARTITION_LOCK = 0x1A6E57_0001


def month_of(received_at: str) -> tuple[int, int]:
    """(year, month) in UTC of a received_at ISO timestamp."""
    if received_at.endswith(("+00:00", "Z")):
        return int(received_at[:4]), int(received_at[5:7])
    moment = datetime.fromisoformat(received_at).astimezone(UTC)
    return moment.year, moment.month


def partition_name(year: int, month: int) -> str:
    return f"raw_payloads_y{year:04d}m{month:02d}"


def _bounds(year: int, month: int) -> tuple[str, str]:
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01 00:00:00+00", f"{nxt[0]:04d}-{nxt[1]:02d}-01 00:00:00+00"


def ensure_partitions(
    conn: psycopg.Connection[tuple[object, ...]], months: Iterable[tuple[int, int]]
) -> list[str]:
    """Create the partitions of `months` that do not exist yet, inside the caller's
    transaction. Returns the names of the partitions that now exist."""
    names = []
    for year, month in sorted(set(months)):
        name = partition_name(year, month)
        names.append(name)
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        if row is not None and row[0]:
            continue
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
        low, high = _bounds(year, month)
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF raw_payloads'
            f" FOR VALUES FROM ('{low}') TO ('{high}')"
        )
    return names
