"""Helpers of the reliability suite: big input files, process trees, counts."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from tests.integration.test_ingest import order

#: Bytes of input from which an ingest prepares its batches in forked workers
#: (`IngestService.parallel_threshold`, 8 MiB), with a margin.
FORKING_BYTES = 9 << 20


def write_orders(path: Path, n: int, prefix: str = "K") -> None:
    """`n` valid orders, ids `{prefix}000000`…, as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for start in range(0, n, 5000):
            chunk = range(start, min(n, start + 5000))
            out.write(b"".join(orjson.dumps(order(f"{prefix}{i:06}")) + b"\n" for i in chunk))


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
