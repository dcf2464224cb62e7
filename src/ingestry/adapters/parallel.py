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
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import fields

from ingestry.services.batch import PreparedBatch
from ingestry.services.ingest import BatchWork

_PREPARE: Callable[[BatchWork], PreparedBatch] | None = None


def _run(work: BatchWork) -> PreparedBatch | bytes:
    assert _PREPARE is not None, "worker started without a prepare function"
    return _pack(_PREPARE(work))


#: Every PreparedBatch field, in the order they travel (by name, not position: a field
#: added to PreparedBatch must be added here, and unit tests round-trip them all).
_FIELDS = tuple(f.name for f in fields(PreparedBatch))


def _pack(batch: PreparedBatch) -> PreparedBatch | bytes:
    try:
        return marshal.dumps(tuple(getattr(batch, name) for name in _FIELDS))
    except ValueError:  # a value marshal cannot write
        return batch


def _unpack(result: PreparedBatch | bytes) -> PreparedBatch:
    if isinstance(result, PreparedBatch):
        return result
    return PreparedBatch(**dict(zip(_FIELDS, marshal.loads(result), strict=True)))


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
        global _PREPARE
        _PREPARE = prepare  # inherited by the forked workers
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        try:
            # fork every worker now, while this process has no other threads
            for started in [pool.submit(_ready) for _ in range(self.workers)]:
                started.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            _PREPARE = None
        return self._results(pool, work)

    def _results(
        self, pool: ProcessPoolExecutor, work: Iterable[BatchWork]
    ) -> Iterator[PreparedBatch]:
        pending: deque[Future[PreparedBatch]] = deque()
        try:
            for item in work:
                plain = (list(map(tuple, item[0])), *item[1:])
                pending.append(pool.submit(_run, plain))  # type: ignore[arg-type]
                if len(pending) >= self.look_ahead:
                    yield _unpack(pending.popleft().result())
            while pending:
                yield _unpack(pending.popleft().result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
