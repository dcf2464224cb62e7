"""Parquet copies of conventions beside the store (docs/data-out.md, "Parquet copies"):
`{root}/{convention}/copy-{random}.parquet` and `state.json` naming the current one.

A copy is written to a temporary file, fsynced, renamed into place, and only then is
`state.json` replaced (itself written to a temporary file and renamed): a reader sees
the previous copy or the new one, never a part. Copies replaced more than `KEEP_S`
seconds ago are deleted on the next write (a query that read the old state may still
be opening the old file).
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import suppress
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ingestry.adapters.analytics import _batches, arrow_schema
from ingestry.services.ports import CopyState, View

#: Seconds a replaced copy is kept for readers that chose it just before the swap.
KEEP_S = 120.0
STATE = "state.json"
ROW_GROUP = 100_000


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ParquetCopies:
    """The CopyStore port over a directory (`data/query_copies/` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, convention: str) -> Path:
        return self.root / convention

    def current(self, convention: str) -> CopyState | None:
        state = self._dir(convention) / STATE
        try:
            data = orjson.loads(state.read_bytes())
            found = CopyState(**data)
        except (OSError, orjson.JSONDecodeError, TypeError):
            return None
        return found if Path(found.file).is_file() else None

    def write(self, view: View, mark: str, signature: str) -> CopyState:
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = self._dir(view.name)
        folder.mkdir(parents=True, exist_ok=True)
        previous = self.current(view.name)
        name = f"copy-{secrets.token_hex(8)}.parquet"
        tmp, final = folder / f".{name}.tmp", folder / name
        schema = arrow_schema(view)
        rows = 0
        try:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                pending: list[pa.RecordBatch] = []
                for batch in _batches(view, schema):
                    pending.append(batch)
                    rows += batch.num_rows
                    if sum(b.num_rows for b in pending) >= ROW_GROUP:
                        writer.write_table(pa.Table.from_batches(pending, schema))
                        pending = []
                if pending:
                    writer.write_table(pa.Table.from_batches(pending, schema))
            _sync(tmp)
            tmp.replace(final)
        finally:
            tmp.unlink(missing_ok=True)
        state = CopyState(
            view.name, str(final), mark, signature, rows, final.stat().st_size,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )  # fmt: skip
        staged = folder / f".{STATE}.{secrets.token_hex(4)}.tmp"
        staged.write_bytes(orjson.dumps(asdict(state)))
        _sync(staged)
        staged.replace(folder / STATE)
        _sync(folder)
        if previous is not None:  # replaced now: its grace period starts now
            with suppress(OSError):
                os.utime(previous.file)
        self._prune(folder, final)
        return state

    @staticmethod
    def _prune(folder: Path, keep: Path) -> None:
        cutoff = time.time() - KEEP_S
        for old in folder.glob("copy-*.parquet"):
            with suppress(OSError):
                if old != keep and old.stat().st_mtime < cutoff:
                    old.unlink()
