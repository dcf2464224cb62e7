"""The SQLite writer alone: one run (start ... finish, as an ingest or a harvest), N new
records with their outbox events in batches of 1,000, then N updates, on
`SQLiteStorage`; prints user and sys CPU and the bytes the process wrote (WAL frames and
checkpoint copies, `/proc/self/io` wchar: load-independent, unlike CPU on a shared
machine). Compare two commits by running it with each one's `src` first on PYTHONPATH.

    PYTHONPATH=src:. python bench/sqlite_writer_bench.py [N]
"""

from __future__ import annotations

import resource
import sys
import tempfile
from pathlib import Path

from tests.contract.conftest import CONVENTION, NOW, record_row

from ingestry.adapters.sqlite.storage import SQLiteStorage


def written() -> int:
    lines = Path("/proc/self/io").read_text().splitlines()
    return int(dict(line.split(": ") for line in lines)["wchar"])


def main(n: int) -> None:
    rows = [record_row(f"it-{i}", label=f"item {i}") for i in range(n)]
    updates = [record_row(f"it-{i}", label=f"item {i} v2") for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        storage = SQLiteStorage(Path(tmp) / "x.db")
        storage.prepare([CONVENTION], auto_upgrade=True)
        before, bytes_before = resource.getrusage(resource.RUSAGE_SELF), written()
        with storage.session() as session:
            session.start_run("srn:run:1", "src", [], NOW)
        for data in (rows, updates):
            for i in range(0, n, 1000):
                with storage.session() as session:
                    result = session.upsert_records(CONVENTION, data[i : i + 1000], NOW)
                    session.append_events(CONVENTION.name, result.changes, NOW)
        with storage.session() as session:
            session.finish_run("srn:run:1", "succeeded", {}, NOW)
        storage.close()
        after, bytes_after = resource.getrusage(resource.RUSAGE_SELF), written()
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    mib = (bytes_after - bytes_before) >> 20
    print(f"user {user:.2f} s, sys {system:.2f} s, written {mib} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
