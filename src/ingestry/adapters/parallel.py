"""Prepare batches (parse, extract, hash) in worker processes while the caller writes.

Preparing is pure Python and holds the GIL, so threads cannot overlap it with the
database; processes can. Workers are forked, so they inherit the compiled extractor
(generated code cannot be pickled) and only frames and prepared rows cross the pipe,
as plain tuples. Results come back in submission order with a bounded look-ahead, so
memory stays flat. A worker that dies raises BrokenProcessPool instead of hanging.
Workers are forked eagerly, before the caller starts any thread of its own.

A prepared batch travels back as one `marshal`ed bytes object: its rows are tuples of
str, bytes, int, float, bool and None, which marshal writes and reads in about half
pickle's time, and the executor's result thread then only unpickles one bytes object
instead of building every row while holding the GIL the writer needs (PostgreSQL, 100,000
rows, three alternating pairs on a loaded machine: 23.3 s against 26.4 s wall, the
same CPU). A batch holding anything else (a Python extractor's own value types) is
pickled as before.

The marshalled bytes do not go through the executor's pipe either: a batch is ~10 MB
(the payloads, and the metadata, of 5,000 benchmark rows), and pickling it, writing
it through the pipe, reading and unpickling it cost the writer ~0.5 s of CPU per
100,000 rows, on the critical path (the writer and the database take turns; the
worker runs beside them). Each batch in flight has a slot in one shared anonymous
mapping, created before the workers fork: the worker writes its bytes there and sends
only (slot, length); the writer unmarshals straight from the mapping. A slot is
reused only after the batch in it was unmarshalled (slots = look-ahead), and a batch
larger than a slot takes the pipe.
"""

from __future__ import annotations

import marshal
import mmap
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import fields

from ingestry.services.batch import PreparedBatch
from ingestry.services.ingest import BatchWork

_PREPARE: Callable[[BatchWork], PreparedBatch] | None = None
#: The shared slots of the current map (inherited by its forked workers).
_SLOTS: mmap.mmap | None = None
SLOT_SIZE = 64 << 20

#: What a worker sends back: a batch, its marshalled bytes, or where they are in a slot.
Result = PreparedBatch | bytes | tuple[int, int]


def _run(work: BatchWork, slot: int) -> Result:
    assert _PREPARE is not None, "worker started without a prepare function"
    packed = _pack(_PREPARE(work))
    if _SLOTS is not None and isinstance(packed, bytes) and len(packed) <= SLOT_SIZE:
        start = slot * SLOT_SIZE
        _SLOTS[start : start + len(packed)] = packed
        return slot, len(packed)
    return packed


#: Every PreparedBatch field, in the order they travel (by name, not position: a field
#: added to PreparedBatch must be added here, and unit tests round-trip them all).
_FIELDS = tuple(f.name for f in fields(PreparedBatch))


def _pack(batch: PreparedBatch) -> PreparedBatch | bytes:
    try:
        return marshal.dumps(tuple(getattr(batch, name) for name in _FIELDS))
    except ValueError:  # a value marshal cannot write
        return batch


def _unpack(result: Result, slots: mmap.mmap | None = None) -> PreparedBatch:
    if isinstance(result, PreparedBatch):
        return result
    if isinstance(result, tuple):
        assert slots is not None
        slot, length = result
        with memoryview(slots) as view, view[slot * SLOT_SIZE :][:length] as data:
            values = marshal.loads(data)
    else:
        values = marshal.loads(result)
    return PreparedBatch(**dict(zip(_FIELDS, values, strict=True)))


def _ready() -> int:
    return os.getpid()


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    """One worker per spare core, at most 2 (the writer is the limit beyond that)."""
    cores = os.cpu_count() or 1
    return max(0, min(2, cores - 1))


class ProcessMap:
    """`map(prepare, work)` over forked worker processes, ordered and bounded."""

    def __init__(self, workers: int, look_ahead: int | None = None) -> None:
        self.workers = workers
        self.look_ahead = look_ahead or 2 * workers

    def __call__(
        self, prepare: Callable[[BatchWork], PreparedBatch], work: Iterable[BatchWork]
    ) -> Iterator[PreparedBatch]:
        global _PREPARE, _SLOTS
        # anonymous and shared: the forked workers write into the same pages
        slots = mmap.mmap(-1, self.look_ahead * SLOT_SIZE)
        _PREPARE, _SLOTS = prepare, slots  # inherited by the forked workers
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        try:
            # fork every worker now, while this process has no other threads
            for started in [pool.submit(_ready) for _ in range(self.workers)]:
                started.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            slots.close()
            raise
        finally:
            _PREPARE, _SLOTS = None, None
        return self._results(pool, slots, work)

    def _results(
        self, pool: ProcessPoolExecutor, slots: mmap.mmap, work: Iterable[BatchWork]
    ) -> Iterator[PreparedBatch]:
        pending: deque[Future[Result]] = deque()
        try:
            for n, item in enumerate(work):
                framed = item[0]  # frames as plain tuples pickle faster; a block is bytes
                plain = (
                    framed if isinstance(framed, tuple) else list(map(tuple, framed)),
                    *item[1:],
                )
                # slot n % look_ahead: its previous batch was unmarshalled already
                pending.append(pool.submit(_run, plain, n % self.look_ahead))  # type: ignore[arg-type]
                if len(pending) >= self.look_ahead:
                    yield _unpack(pending.popleft().result(), slots)
            while pending:
                yield _unpack(pending.popleft().result(), slots)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            slots.close()
