"""Prepared batches cross the worker pipe intact: every field, by name (a positional
unpack once put `scan` into `quarantine_header` and `skipped` into `scan`, so every
parallel ingest took its batches for scanned ones)."""

from __future__ import annotations

import marshal
import threading
import time
from dataclasses import fields
from typing import Any

import pytest

from ingestry.adapters import parallel
from ingestry.adapters.parallel import (
    PackedRows,
    ProcessMap,
    _joined,
    _pack,
    _unpack,
    fork_available,
)
from ingestry.services.batch import PreparedBatch
from ingestry.services.preparation import BatchWork


def test_every_field_round_trips() -> None:
    batch = PreparedBatch(
        raw=[("src", b"\x01" * 32, b"k", b"{}", "2026-11-23T10:00:00+00:00", "f.csv", 1, None)],  # type: ignore[list-item]
        records=[("harvest", "A-1", "f.csv", b"\x01", "{}", "h", "v1", None, ("x", 1))],  # type: ignore[list-item]
        quarantine=[("src", b"\x02", b"x", 3, "f.csv", "bad", None)],  # type: ignore[list-item]
        headers=[(b"\x03", b"id,total")],
        received=7,
        quarantine_header=(b"\x03", b"id,total"),
        scan=[(0, "A-1", b"\x04")],
        skipped=2,
        wire={"raw": [b"\x00\x0d", b"\x00\x0d"], "key_order": [1, 0]},
    )
    back = _round_trip(batch)
    for f in fields(PreparedBatch):
        assert getattr(back, f.name) == getattr(batch, f.name), f.name
    assert isinstance(back.raw, PackedRows) and len(back.raw) == 1
    assert back.raw[0] == batch.raw[0] and list(back.records) == list(batch.records)


def test_defaults_stay_defaults() -> None:
    back = _round_trip(PreparedBatch(received=1))
    assert (back.scan, back.quarantine_header, back.skipped) == (None, None, 0)
    assert (len(back.raw), list(back.records)) == (0, [])


def _round_trip(batch: PreparedBatch) -> PreparedBatch:
    parts = _pack(batch)
    assert isinstance(parts, list)
    return _unpack(_joined(parts))


def test_values_marshal_cannot_write_travel_as_the_batch() -> None:
    batch = PreparedBatch(records=[("harvest", object())])  # type: ignore[list-item]
    assert _pack(batch) is batch
    assert _unpack(batch) is batch


def _sized(work: BatchWork) -> PreparedBatch:
    """A batch whose payload size follows its origin: every third one outgrows a slot."""
    n = int(work[2])
    size = 10_000 if n % 3 == 0 else 100
    return PreparedBatch(received=n, headers=[(bytes([n]), bytes([n % 256]) * size)])


@pytest.mark.skipif(not fork_available(), reason="needs os.fork")
def test_batches_come_back_in_order_through_reused_slots_and_the_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "SLOT_SIZE", 4096)  # the forked workers inherit it
    work = [([], "2026", str(n), None, False, False) for n in range(11)]
    for workers in (1, 2):
        back = list(ProcessMap(workers, look_ahead=2)(_sized, iter(work)))  # type: ignore[arg-type]
        assert [b.received for b in back] == list(range(11))
        assert [b.headers for b in back] == [_sized(w).headers for w in work]  # type: ignore[arg-type]


def _rows(work: BatchWork) -> PreparedBatch:
    """A batch whose rows say which batch they belong to."""
    n = int(work[2])
    rows = [(f"batch-{n}", f"row-{i}", b"x" * 50) for i in range(20)]
    return PreparedBatch(received=n, raw=rows)  # type: ignore[arg-type]


@pytest.mark.skipif(not fork_available(), reason="needs os.fork")
def test_rows_still_held_when_their_slot_is_reused_are_unpacked_first() -> None:
    """Rows stay packed in the shared slot they arrived in; a slot's next batch must
    not overwrite rows someone still holds (here: every batch, kept in a list)."""
    work = [([], "2026", str(n), None, False, False) for n in range(9)]
    for workers in (1, 2):
        back = list(ProcessMap(workers, look_ahead=2)(_rows, iter(work)))  # type: ignore[arg-type]
        assert [list(b.raw) for b in back] == [_rows(w).raw for w in work]  # type: ignore[arg-type]


@pytest.mark.skipif(not fork_available(), reason="needs os.fork")
def test_rows_nobody_reads_are_never_unmarshalled() -> None:
    work = [([], "2026", str(n), None, False, False) for n in range(5)]
    for batch in ProcessMap(1, look_ahead=2)(_rows, iter(work)):  # type: ignore[arg-type]
        assert isinstance(batch.raw, PackedRows) and len(batch.raw) == 20
        assert batch.raw._rows is None  # a length needs no rows
        assert batch.raw[3] == (f"batch-{batch.received}", "row-3", b"x" * 50)


class _Slow(PackedRows[Any]):
    """Packed rows whose unpacking takes a while after it let go of the buffer: the
    window in which a second thread used to unpack them again."""

    __slots__ = ()

    def _build(self) -> list[Any]:
        rows = super()._build()
        time.sleep(0.05)
        return rows


def test_rows_read_by_two_threads_at_once_are_unpacked_once() -> None:
    """A lane thread reads a batch's rows while the main thread keeps them before its
    slot is reused (`_keep`): the second reader waits for the first instead of
    unpacking a released buffer (an AssertionError that ended a 100k PostgreSQL ingest
    once in eight runs)."""
    data = [(n, f"row {n}") for n in range(100)]
    packed = _Slow(memoryview(marshal.dumps(data)), len(data))
    got: list[Any] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            got.append(list(packed.keep()))
        except BaseException as error:  # the test reports it
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert got == [data, data]
