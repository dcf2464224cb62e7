"""Bug 6 of issue 14: a killed export's temporary file does not stay in
`data/processed/` for ever; a live export's is never removed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingestry.store import Store
from tests.e2e.processes import wait_for

HOLD = """
import fcntl, sys, time
with open(sys.argv[1], "wb") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(60)
"""


def test_an_export_sweeps_dead_writers_temporary_files(store: Store, project: Path) -> None:
    processed = project / "data" / "processed"
    processed.mkdir(parents=True)
    orphan = processed / ".customer_orders_20261201T000000Z.jsonl.0badc0de.tmp"
    orphan.write_bytes(b"x" * 100_000)  # what a killed export left (nobody holds it)
    live = processed / ".customer_orders_20261202T000000Z.jsonl.00c0ffee.tmp"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(live)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        mine = processed / "notes.tmp"  # not one of ours: left alone
        mine.write_text("keep")
        store.ingest_files("customer_orders", [project / "data" / "samples" / "orders.jsonl"])
        summary = store.export(source="customer_orders")
        assert Path(summary.path).exists()
        left = sorted(p.name for p in processed.iterdir())
        assert orphan.name not in left, left
        assert live.name in left and mine.name in left, left
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    wait_for("the holder to exit", lambda: holder.poll() is not None)
    store.export(source="customer_orders")  # its writer is dead now: swept
    assert not live.exists()
