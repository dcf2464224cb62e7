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

The row lists themselves (`raw`, `records`) travel as marshalled bytes inside the
batch and are unmarshalled only when something reads them (`PackedRows`): when the
storage takes the batch's pre-encoded wire (PostgreSQL's direct COPY paths), the
writer never builds or frees the ~130,000 objects of a 5,000-row batch, which cost it
~5 s per 1,000,000 rows on the critical path (py-spy: 3.3 s unmarshalling, ~2 s
freeing).

A worker dies with its parent. An ingest killed with SIGKILL cannot shut its pool down,
and a forked worker blocked on its task queue would live on (it holds copies of both
ends of the queue's pipe, so it never sees EOF) with the parent's database socket: on
PostgreSQL the dead ingest's session then stays `idle in transaction`, holding the
locks the next ingest waits for. So each worker asks Linux for SIGKILL when its parent
dies (`PR_SET_PDEATHSIG`), and, everywhere, a thread in it waits for EOF on a pipe
whose only write end the parent holds: the kernel closes it when the parent dies.
"""

from __future__ import annotations

import contextlib
import marshal
import mmap
import os
import pickle
import signal
import struct
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from ingestry.services.ports import BatchWork, LazyRows, PreparedBatch

if TYPE_CHECKING:
    # imported when a map runs: ~10 ms (multiprocessing, concurrent.futures) that a
    # small ingest, which prepares inline, does not pay at start-up
    from concurrent.futures import Future, ProcessPoolExecutor

_PREPARE: Callable[[Any], Any] | None = None
#: The shared slots of the current map (inherited by its forked workers).
_SLOTS: mmap.mmap | None = None
SLOT_SIZE = 64 << 20

#: What a worker sends back: a batch, its packed bytes, or where they are in a slot
#: (slot, sizes of the parts).
Result = PreparedBatch | bytes | tuple[int, tuple[int, ...]]


def _run(work: BatchWork, slot: int) -> Result:
    assert _PREPARE is not None, "worker started without a prepare function"
    parts = _pack(_PREPARE(work))
    if isinstance(parts, PreparedBatch):
        return parts
    sizes = tuple(len(p) for p in parts)
    if _SLOTS is not None and sum(sizes) <= SLOT_SIZE:
        at = slot * SLOT_SIZE
        for part in parts:
            _SLOTS[at : at + len(part)] = part
            at += len(part)
        return slot, sizes
    return _joined(parts)


def _run_plain(item: Any) -> tuple[bool, bytes]:
    """`ProcessMap.ordered`'s worker: the result marshalled (True), else pickled."""
    assert _PREPARE is not None, "worker started without a function"
    result = _PREPARE(item)
    try:
        return True, marshal.dumps(result)
    except ValueError:  # a value marshal cannot write
        return False, pickle.dumps(result, pickle.HIGHEST_PROTOCOL)


def _joined(parts: list[bytes]) -> bytes:
    """The parts as one bytes object for the pipe, their sizes first."""
    return _SIZES.pack(*(len(p) for p in parts)) + b"".join(parts)


#: Every PreparedBatch field, in the order they travel (by name, not position: a field
#: added to PreparedBatch must be added here, and unit tests round-trip them all).
_FIELDS = tuple(f.name for f in fields(PreparedBatch))
#: The row lists, packed on their own and unmarshalled on first use (see PackedRows).
_PACKED = tuple(n for n, name in enumerate(_FIELDS) if name in ("raw", "records"))
#: Sizes of the parts (the rest of the batch, then each row list) before piped bytes.
_SIZES = struct.Struct(f"<{1 + len(_PACKED)}Q")

T = TypeVar("T")
R = TypeVar("R")


class PackedRows(LazyRows[T]):
    """A batch's rows, left marshalled where they arrived until something reads them.
    Its length is known without unpacking; indexing or iterating unmarshals the rows
    once. Rows still in a shared slot are unpacked (`keep`) before the slot is reused."""

    __slots__ = ("__weakref__", "_data")

    def __init__(self, data: memoryview, length: int) -> None:
        super().__init__(length)
        self._data: memoryview | None = data

    def _build(self) -> list[T]:
        assert self._data is not None
        with self._data as data:
            rows: list[T] = marshal.loads(data)
        self._data = None
        return rows

    def keep(self) -> Sequence[T]:
        """Unmarshal the rows now (marshal copies them) and let go of the buffer."""
        return self.rows


def _pack(batch: PreparedBatch) -> PreparedBatch | list[bytes]:
    """The batch as marshalled parts: everything but the row lists, then each list."""
    try:
        values: list[Any] = [getattr(batch, name) for name in _FIELDS]
        rows = [marshal.dumps(values[n]) for n in _PACKED]
        for n in _PACKED:
            values[n] = len(values[n])
        return [marshal.dumps(tuple(values)), *rows]
    except ValueError:  # a value marshal cannot write
        return batch


def _unpack(
    result: Result, slots: mmap.mmap | None = None, kept: list[Any] | None = None
) -> PreparedBatch:
    """The batch back; its row lists stay packed (`PackedRows`, weakly listed in `kept`
    when they point into a slot, so the slot's next user can unpack what is still
    referenced)."""
    if isinstance(result, PreparedBatch):
        return result
    if isinstance(result, tuple):
        assert slots is not None
        slot, sizes = result
        view = memoryview(slots)[slot * SLOT_SIZE :]
    else:
        sizes = _SIZES.unpack_from(result)
        view = memoryview(result)[_SIZES.size :]
    with view[: sizes[0]] as head:
        values = list(marshal.loads(head))
    at = sizes[0]
    for n, size in zip(_PACKED, sizes[1:], strict=True):
        rows: PackedRows[Any] = PackedRows(view[at : at + size], values[n])
        if kept is not None:
            kept.append(weakref.ref(rows))
        values[n] = rows
        at += size
    view.release()
    return PreparedBatch(**dict(zip(_FIELDS, values, strict=True)))


def _keep(kept: list[Any]) -> None:
    """Unpack the rows still referenced that point into a slot about to be reused."""
    for ref in kept:
        rows = ref()
        if rows is not None:
            rows.keep()
    kept.clear()


def _ready() -> int:
    _keep_heap()
    return os.getpid()


#: glibc `mallopt` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_heap() -> None:
    """Let a process keep its freed heap: every batch marshals ~20 MB into fresh
    buffers (workers) or reads a ~4 MB block (the reader), and glibc's default
    thresholds hand those pages back to the kernel after each batch, to fault them in
    again for the next (twice the page faults, ~0.5 s of kernel time per 100,000 rows).
    Only glibc has `mallopt`; elsewhere nothing changes."""
    import ctypes  # here, not with the module: a small ingest never forks workers

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest; a part of a batch is smaller
    mallopt(_M_TRIM_THRESHOLD, 2 * SLOT_SIZE)


#: prctl option: the signal a process gets when its parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int, lifeline: tuple[int, int], niceness: int = 0) -> None:
    """Worker initializer: exit when the parent (`parent`) dies (see the module doc),
    run `niceness` below its priority (`ProcessMap.yielding`)."""
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)
    read_end, write_end = lifeline
    os.close(write_end)  # the parent's is then the only one: its death is EOF here
    if sys.platform == "linux":
        # no prctl in this libc: the pipe still works
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while os.read(read_end, 1):  # the parent never writes: returns only at EOF
            pass
        os._exit(1)

    threading.Thread(target=watch, name="ingestry-lifeline", daemon=True).start()


def fork_available() -> bool:
    """Whether workers can be forked: what `"fork" in multiprocessing.
    get_all_start_methods()` says, without importing multiprocessing at start-up."""
    return hasattr(os, "fork")


def default_workers(cores: int | None = None, *, server: bool = True) -> int:
    """A file ingest's preparation workers: one per core, at most 2, none on one core;
    with a database server beside them (`server`), one per spare core. Preparing a
    narrow CSV row costs more than writing it to SQLite (callgrind: 99k instructions a
    row against the writer's 81k), so on 2 cores one worker left the writer waiting
    between batches and a second one is ~7% faster; PostgreSQL's server needs that core
    (2-3% slower with two). bench/README.md, "The preparation worker as the critical
    path"."""
    cores = cores or os.cpu_count() or 1
    if cores < 2:
        return 0
    return min(2, cores - 1 if server else cores)


def default_parse_workers(cores: int | None = None) -> int:
    """An import's line parsers: one per core, at most 2, none on one core. Parsing an
    export line costs more than writing it (1M lines: ~52 s of parsing CPU against the
    SQLite writer's ~36 s), so with one worker on 2 cores the parser, not the writer, was
    the critical path (import 77-83 s; with two, 49-56 s: bench/README.md)."""
    cores = cores or os.cpu_count() or 1
    return min(2, cores) if cores > 1 else 0


#: How far below the caller's priority a `yielding` map's workers run.
YIELDING_NICENESS = 10


class ProcessMap:
    """`map(prepare, work)` over forked worker processes, ordered and bounded."""

    def __init__(self, workers: int, look_ahead: int | None = None, niceness: int = 0) -> None:
        self.workers = workers
        self.look_ahead = look_ahead or 2 * workers
        self.niceness = niceness

    def yielding(self) -> ProcessMap:
        """This map, its workers below the caller's priority: for a caller on the
        critical path whose workers run ahead of it (an HTTP pull; bench/README.md)."""
        return ProcessMap(self.workers, self.look_ahead, YIELDING_NICENESS)

    def __call__(
        self, prepare: Callable[[BatchWork], PreparedBatch], work: Iterable[BatchWork]
    ) -> Iterator[PreparedBatch]:
        # anonymous and shared: the forked workers write into the same pages; one slot
        # more than the look-ahead, so a slot is reused only once the writer moved past
        # the batch after the one it held (whose rows nobody references any more)
        slots = mmap.mmap(-1, (self.look_ahead + 1) * SLOT_SIZE)
        try:
            pool, lifeline = self._start(prepare, slots)
        except BaseException:
            slots.close()
            raise
        return self._results(pool, slots, work, lifeline)

    def ordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`map(fn, items)` over the workers, results in order: for work that is not a
        batch (an import's blocks of lines). An item and its result cross the pipe,
        the result `marshal`ed (pickled when it holds anything else)."""
        pool, lifeline = self._start(fn, None)
        return self._ordered(pool, items, lifeline)

    def _start(
        self, prepare: Callable[[Any], Any], slots: mmap.mmap | None
    ) -> tuple[ProcessPoolExecutor, int]:
        """The pool, its workers forked (inheriting `prepare` and `slots`), and the
        write end of their lifeline."""
        global _PREPARE, _SLOTS
        _keep_heap()  # the reader's blocks churn through large buffers too
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _PREPARE, _SLOTS = prepare, slots  # inherited by the forked workers
        lifeline = os.pipe()
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_die_with_parent,
            initargs=(os.getpid(), lifeline, self.niceness),
        )
        try:
            # fork every worker now, while this process has no other threads
            for started in [pool.submit(_ready) for _ in range(self.workers)]:
                started.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            os.close(lifeline[1])
            raise
        finally:
            _PREPARE, _SLOTS = None, None
            os.close(lifeline[0])  # the workers have their copies; the parent keeps
            # the write end open until the pool is shut down (then the workers exit)
        return pool, lifeline[1]

    def _in_order(
        self, submit: Callable[[Any], Future[Any]], items: Iterable[Any], unpack: Callable[[Any], R]
    ) -> Iterator[R]:
        """Each item submitted, at most `look_ahead` in flight, results in item order."""
        pending: deque[Future[Any]] = deque()
        for item in items:
            pending.append(submit(item))
            if len(pending) >= self.look_ahead:
                yield unpack(pending.popleft())
        while pending:
            yield unpack(pending.popleft())

    def _ordered(self, pool: ProcessPoolExecutor, items: Iterable[T], lifeline: int) -> Iterator[R]:
        def result(future: Future[tuple[bool, bytes]]) -> R:
            marshalled, data = future.result()
            out: R = marshal.loads(data) if marshalled else pickle.loads(data)
            return out

        try:
            yield from self._in_order(lambda item: pool.submit(_run_plain, item), items, result)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            os.close(lifeline)

    def _results(
        self,
        pool: ProcessPoolExecutor,
        slots: mmap.mmap,
        work: Iterable[BatchWork],
        lifeline: int,
    ) -> Iterator[PreparedBatch]:
        kept: list[list[Any]] = [[] for _ in range(self.look_ahead + 1)]

        def unpack(future: Future[Result]) -> PreparedBatch:
            result = future.result()
            if isinstance(result, tuple):
                return _unpack(result, slots, kept[result[0]])
            return _unpack(result)

        def submit(numbered: tuple[int, BatchWork]) -> Future[Result]:
            n, item = numbered
            framed = item[0]  # frames as plain tuples pickle faster; a block is bytes
            plain = (framed if isinstance(framed, tuple) else list(map(tuple, framed)), *item[1:])
            slot = n % len(kept)
            _keep(kept[slot])  # rows of its last batch someone still holds
            return pool.submit(_run, plain, slot)  # type: ignore[arg-type]

        try:
            yield from self._in_order(submit, enumerate(work), unpack)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            os.close(lifeline)
            for refs in kept:
                _keep(refs)
            slots.close()
