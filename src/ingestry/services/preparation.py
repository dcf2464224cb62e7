"""An ingest's inputs as prepared batches, each with the work it was prepared from.

Batches are prepared inline or, for files, in worker processes (a `MapFn` adapter).
Every batch comes with its `BatchWork` (the frames or block of lines, receipt moment,
origin, header), kept until the batch is written: a scanned batch is prepared from it
once the storage said which payloads are no-ops (`services.rescan`), and a lean one
gets its rows from it if a write path asks for them after all (`LeanPolicy`).
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from ingestry.domain.clock import Clock, iso
from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract.compiler import Extractor
from ingestry.extract.csvblocks import csv_block_frames, csv_block_slices
from ingestry.extract.framing import Frame, LineBlock, block_frames
from ingestry.services.batch import (
    COLUMNAR_SLICE,
    Provenance,
    batch_keys,
    prepare_batch,
)
from ingestry.services.inputs import BlockInput, Input
from ingestry.services.ports import WireEncode
from ingestry.services.ports.batches import BatchWork as BatchWork
from ingestry.services.ports.batches import LazyRows, PreparedBatch
from ingestry.services.rescan import RescanPolicy, scan

T = TypeVar("T")

ProgressFn = Callable[[int, int], None]  # (bytes consumed, frames received)

#: How batches get prepared: inline (`map`) or in worker processes (an adapter).
MapFn = Callable[
    [Callable[[BatchWork], PreparedBatch], Iterable[BatchWork]], Iterator[PreparedBatch]
]


def inline_map(
    prepare: Callable[[BatchWork], PreparedBatch], work: Iterable[BatchWork]
) -> Iterator[PreparedBatch]:
    return map(prepare, work)


class LeanPolicy:
    """Leave the row tuples out of what a worker sends back while the storage writes
    batches from their wire alone: after a batch that was all new (every raw row
    stored, every record created), the next is most likely too. The writer then never
    unpacks or frees 10,000 tuples a batch, and the worker never packs them. A lean
    batch that meets a key after all gets its rows rebuilt from its input (`Deferred`)
    and the policy turns back."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.lean = False

    def observe(self, all_new: bool) -> None:
        if self.enabled:
            self.lean = all_new


class Deferred(LazyRows[T]):
    """Rows a worker left out of a lean batch: their count, and a way to build them
    again from the batch's input (preparation is deterministic) on first use."""

    __slots__ = ("_make",)

    def __init__(self, length: int, make: Callable[[], Sequence[T]]) -> None:
        super().__init__(length)
        self._make = make

    def _build(self) -> Sequence[T]:
        return self._make()


class Preparation:
    """Prepares the batches of one source's ingest (pure work; `map` decides where)."""

    def __init__(
        self,
        source: DataSource,
        extractor: Extractor,
        provenance: Provenance,
        *,
        batch_size: int,
        clock: Clock,
        encode: WireEncode | None = None,
    ) -> None:
        self.source = source
        self.extractor = extractor
        self.provenance = provenance
        self.batch_size = batch_size
        self.clock = clock
        self.encode = encode

    def batches(
        self,
        inputs: Sequence[Input],
        progress: ProgressFn | None,
        policy: RescanPolicy,
        lean: LeanPolicy,
        parallel: MapFn | None,
    ) -> Iterator[tuple[BatchWork | None, PreparedBatch]]:
        """Each batch, in input order, with its work when the batch may need it again
        (scanned or lean; None otherwise, so a block is not kept longer than it must);
        through `parallel` (worker processes, which also frame JSON Lines blocks) when
        given."""
        held: deque[BatchWork | None] = deque()
        blocks = parallel is not None
        work = self._work(inputs, progress, policy, lean if blocks else None, blocks, held)
        for batch in (parallel or inline_map)(self.prepare, work):
            done = held.popleft()
            if batch.omitted is not None:
                assert done is not None
                self._defer_rows(batch, done)
            yield done, batch

    def prepare(self, work: BatchWork) -> PreparedBatch:
        """The batch of `work`: scanned only, or prepared in full (and encoded for the
        storage's write path; its rows left out when `work` asks for a lean batch and
        the wire carries everything)."""
        framed, _, _, header, scan_only, lean = work
        if scan_only:
            frames = self.frames_of(framed, header)
            scanned, touched = scan(frames, self.source.id_paths)
            lines = [frames[k[0]][0] for k in scanned]
            return PreparedBatch(received=len(frames), scan=scanned, scan_lines=lines, keys=touched)
        batch = self.rows(work)
        batch.keys = batch_keys(batch)
        if self.encode is not None:
            # declarative values come from the payloads: one scan says if any needs
            # escaping; a Python extractor's may hold anything
            declarative = self.extractor.python is None
            blob = framed[1] if isinstance(framed, tuple) else None
            if blob is None and declarative:
                blob = b"\n".join(f[1] for f in self.frames_of(framed, header))
            batch.wire = self.encode(batch.raw, batch.records, blob if declarative else None)
            if lean and batch.wire is not None and batch.wire.get("complete"):
                batch.omitted = (len(batch.raw), len(batch.records))
                batch.raw, batch.records = [], []
        return batch

    def rows(
        self, work: BatchWork, frames: list[Frame] | None = None, skip: set[int] | None = None
    ) -> PreparedBatch:
        """The batch's rows (no wire, no keys): `frames` of `work`, without those at the
        indexes in `skip`."""
        framed, received_at, origin, header, _, _ = work
        blob = framed[1] if isinstance(framed, tuple) else None  # holds every payload
        slices = None
        csv = self.source.format is SourceFormat.CSV and header is not None
        if frames is None and not skip and isinstance(framed, tuple) and csv:
            # framed part by part as the loop prepares them (see prepare_batch)
            assert header is not None
            plan = self.extractor.columnar
            keys = plan.keys if plan is not None and plan.worthwhile else None
            slices = csv_block_slices(framed, header[1], self.source.reading, COLUMNAR_SLICE, keys)
            frames = []
        if frames is None:
            frames = self.frames_of(framed, header)
        if skip:
            frames = [f for n, f in enumerate(frames) if n not in skip]
        return prepare_batch(
            frames, self.source, self.extractor, self.provenance,
            received_at=received_at, origin=origin, header=header, blob=blob, slices=slices,
        )  # fmt: skip

    def frames_of(
        self, framed: list[Frame] | LineBlock, header: tuple[bytes, bytes] | None
    ) -> list[Frame]:
        """The frames of a batch's work: a block of lines framed here (CSV rows with
        the input's header: `extract.csvblocks`)."""
        if not isinstance(framed, tuple):
            return framed
        if self.source.format is SourceFormat.CSV:
            assert header is not None, "a CSV block comes with its header"
            return csv_block_frames(framed, header[1], self.source.reading)
        return block_frames(framed, self.source.max_line_bytes)

    def works(self, inputs: Sequence[Input]) -> list[BatchWork]:
        """The work of `inputs`, framed here, to prepare elsewhere (an HTTP pull frames
        a page on its fetching thread, and a worker process prepares it)."""
        return list(self._work(inputs, None, RescanPolicy(enabled=False), None, False, deque()))

    def _defer_rows(self, batch: PreparedBatch, work: BatchWork) -> None:
        assert batch.omitted is not None
        again = functools.cache(lambda: self.rows(work))  # one rebuild for both lists
        n_raw, n_records = batch.omitted
        batch.raw = Deferred(n_raw, lambda: again().raw)
        batch.records = Deferred(n_records, lambda: again().records)

    def _work(
        self,
        inputs: Sequence[Input],
        progress: ProgressFn | None,
        policy: RescanPolicy,
        lean: LeanPolicy | None,
        blocks: bool,
        held: deque[BatchWork | None],
    ) -> Iterator[BatchWork]:
        consumed = 0
        received = 0
        for item in inputs:
            for chunk, count in self._chunks(item, blocks):
                received += count
                slim = lean is not None and lean.lean
                work: BatchWork = (
                    chunk, iso(self.clock()), item.name, item.header, policy.scan, slim
                )  # fmt: skip
                held.append(work if policy.scan or slim else None)
                yield work
                if progress is not None:
                    progress(consumed + item.position, received)
            consumed += item.position

    def _chunks(self, item: Input, blocks: bool) -> Iterator[tuple[list[Frame] | LineBlock, int]]:
        """The input's batches with how many frames (lines, for blocks) each holds:
        blocks of whole lines when a worker frames them and the input can cut them."""
        lines = (
            item.line_blocks(self.batch_size) if blocks and isinstance(item, BlockInput) else None
        )
        if lines is not None:
            yield from lines
            return
        frames = item.frames()
        while chunk := list(islice(frames, self.batch_size)):
            yield chunk, len(chunk)
