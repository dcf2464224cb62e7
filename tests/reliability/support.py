"""Helpers of the reliability suite: big input files, process trees, counts."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from tests.integration.test_ingest import order

#: The suite lowers the input size from which an ingest forks its preparation workers
#: (INGESTRY_PARALLEL_MIN_BYTES, 8 MiB by default) so small, quick ingests fork too.
PARALLEL_MIN_BYTES = 256 << 10
FORKING_ENV = {"INGESTRY_PARALLEL_MIN_BYTES": str(PARALLEL_MIN_BYTES)}
#: An input that forks (with a margin), ~2,000 orders.
FORKING_BYTES = PARALLEL_MIN_BYTES * 3 // 2


def write_orders(path: Path, n: int, prefix: str = "K", pad: int = 0) -> None:
    """`n` valid orders, ids `{prefix}000000`…, as JSON Lines; `pad`: that many bytes
    more per order, in an undeclared `note` field (longer COPYs to catch)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"note": "x" * pad} if pad else {}
    with path.open("wb") as out:
        for start in range(0, n, 5000):
            chunk = range(start, min(n, start + 5000))
            out.write(
                b"".join(orjson.dumps(order(f"{prefix}{i:06}") | extra) + b"\n" for i in chunk)
            )


def rows_for_bytes(size: int) -> int:
    """How many orders make a file of at least `size` bytes."""
    return size // len(orjson.dumps(order("K000000")) + b"\n") + 1


def children(pid: int) -> set[int]:
    """Direct children of `pid`, from /proc (Linux)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: split after it
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.add(int(entry))
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids of `pids` still running (zombies count as gone)."""
    living = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] != "Z":
            living.add(pid)
    return living


def env_count(name: str, default: int) -> int:
    """A suite size from the environment (the nightly sizes, docs/reliability.md)."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def integrity_ok(db: object) -> bool:
    """SQLite's `PRAGMA integrity_check` (PostgreSQL: the server keeps it; True)."""
    import sqlite3

    sqlite_file = getattr(db, "sqlite_file", None)
    if sqlite_file is None:
        return True
    conn = sqlite3.connect(sqlite_file)
    try:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        conn.close()


def cpu_ticks(pid: int) -> int:
    """User plus system CPU ticks of a process so far (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def wait_until_blocked(pid: int, window: float = 0.6, timeout: float = 30.0) -> None:
    """Wait until `pid` spends (almost) no CPU for `window` seconds: it waits on a lock."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_ticks(pid)
        time.sleep(window)
        if cpu_ticks(pid) - before <= 1:
            return
    raise AssertionError(f"process {pid} kept running for {timeout:.0f}s")


def local_tcp_ports(pid: int) -> set[int]:
    """The local ports of `pid`'s TCP sockets (Linux /proc): on loopback they are the
    `client_port`s of its PostgreSQL sessions in pg_stat_activity."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
