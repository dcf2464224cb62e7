"""Prepare batches (parse, extract, hash) in worker processes while the caller writes.

Preparing is pure Python and holds the GIL, so threads cannot overlap it with the
database; processes can. Workers are forked, so they inherit the compiled extractor
(generated code cannot be pickled) and only frames and prepared rows cross the pipe,
as plain tuples. Results come back in submission order with a bounded look-ahead, so
memory stays flat. Where fork is unavailable the caller falls back to inline.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.pool import AsyncResult
from typing import Any

from ingestry.services.batch import PreparedBatch
from ingestry.services.ingest import BatchWork

_PREPARE: Callable[[BatchWork], PreparedBatch] | None = None


def _run(work: BatchWork) -> PreparedBatch:
    assert _PREPARE is not None, "worker started without a prepare function"
    return _PREPARE(work)


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
        context = multiprocessing.get_context("fork")
        pool = context.Pool(self.workers)
        try:
            pending: deque[AsyncResult[Any]] = deque()
            for item in work:
                plain = (list(map(tuple, item[0])), *item[1:])
                pending.append(pool.apply_async(_run, (plain,)))
                if len(pending) >= self.look_ahead:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
            pool.close()
        finally:
            pool.terminate()
            pool.join()
            _PREPARE = None
