"""How an ingest writes: the speed mechanics the use case does not need to know.

`IngestService` is the use case (frame, extract, count, record the run); this module
is how its batches reach the storage fast, decided once per storage by the composition
root (`bootstrap.write_mode`), never sniffed during a run:

- **wire encoding**: a storage that takes a batch pre-encoded (PostgreSQL's binary
  COPY) gets it built where the batch is prepared, in a worker process; one that can
  take more work off its writer at a cost to the workers (SQLite's images) gets that
  only where the workers have time to spare (`offload`: an HTTP pull's pages);
- **lean batches**: while batches are all new, workers leave the row tuples out
  (`preparation.LeanPolicy`);
- **rescans**: a storage whose sessions can tell unchanged payloads skips preparing
  them on a re-ingest (`rescan.RescanPolicy`);
- **lanes**: a storage with several connections writes disjoint batches side by side,
  committing in order (`lanes.OrderedLanes`);
- **gc pausing**: the cyclic collector is off while a run allocates its tuples.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from ingestry.domain.conventions import Convention
from ingestry.domain.sources import DataSource
from ingestry.services.lanes import OrderedLanes
from ingestry.services.ports import (
    BatchWork,
    ConcurrentSessions,
    OffloadEncoding,
    PreparedBatch,
    Storage,
    StorageSession,
    WireEncode,
    WireEncoding,
)
from ingestry.services.preparation import LeanPolicy
from ingestry.services.rescan import RescanPolicy
from ingestry.services.supersede import Overlap

T = TypeVar("T")

#: A batch as the preparation hands it over: its work (to prepare it again in full
#: when it was scanned), the batch, and its overlap with the next one.
Prepared = tuple[BatchWork | None, PreparedBatch, Overlap]
#: Writes one prepared batch in a session and returns what it counted.
WriteBatch = Callable[[StorageSession, BatchWork | None, PreparedBatch, Overlap], T]


@contextmanager
def gc_paused() -> Iterator[None]:
    """A run allocates millions of short-lived, cycle-free tuples; the cyclic collector
    would scan them over and over (about 15% of an ingest) for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class WriteMode:
    """What a storage can do for an ingest's speed, asked once (see `of`)."""

    #: builds a convention's wire encoder (the storage is a `WireEncoding`), or None
    encoder: Callable[[Convention], WireEncode] | None = None
    #: the encoder of a preparation whose workers have time to spare (an HTTP pull):
    #: `encoder`, or an `OffloadEncoding` storage's offload encoder
    offload: Callable[[Convention], WireEncode] | None = None
    #: the storage's lanes, when it has more than one connection to write on
    lanes: ConcurrentSessions | None = None
    #: its sessions can tell which payloads would change nothing (`PayloadProbe`)
    probe: bool = False

    @classmethod
    def of(cls, storage: Storage) -> WriteMode:
        """The mode of `storage`, from the capabilities it declares (the one place
        that asks: `bootstrap.write_mode` calls it when the storage is opened)."""
        encoder = storage.wire_encoder if isinstance(storage, WireEncoding) else None
        lanes = storage if isinstance(storage, ConcurrentSessions) and storage.lanes > 1 else None
        probe = getattr(storage, "payload_probe", False) is True
        offload = storage.offload_encoder if isinstance(storage, OffloadEncoding) else encoder
        return cls(encoder, offload, lanes, probe)

    def lean(self) -> LeanPolicy:
        """Lean batches pay off only when the wire carries every row."""
        return LeanPolicy(enabled=self.encoder is not None)

    def rescan(self, source: DataSource, python_extractor: bool) -> RescanPolicy:
        """A re-ingest skips what the store holds unchanged: raw sources, declarative
        extractors (a Python one may read anything), storages that can tell."""
        return RescanPolicy(enabled=self.probe and source.is_raw and not python_extractor)

    def write(
        self,
        storage: Storage,
        batches: Iterable[Prepared],
        write: WriteBatch[T],
        done: Callable[[T], None],
    ) -> None:
        """Every batch written and committed in order; `done` gets each batch's result
        once it is committed (its counts are final then)."""
        if self.lanes is not None:
            write_in_lanes(self.lanes, batches, write, done)
            return
        for work, batch, overlap in batches:
            with storage.session() as session:
                result = write(session, work, batch, overlap)
            done(result)


def write_in_lanes(
    storage: ConcurrentSessions,
    batches: Iterable[Prepared],
    write: WriteBatch[T],
    done: Callable[[T], None],
) -> None:
    """`batches` written on the storage's lanes: side by side where their keys are
    disjoint, committed in order (see `services.lanes`)."""
    committed_headers: set[bytes] = set()

    def committed(result: tuple[T, list[bytes]]) -> None:
        done(result[0])
        committed_headers.update(result[1])

    def writer(prepared: Prepared) -> Callable[[StorageSession], tuple[T, list[bytes]]]:
        def run(session: StorageSession) -> tuple[T, list[bytes]]:
            return write(session, *prepared), [sha for sha, _ in prepared[1].headers]

        return run

    with OrderedLanes(storage.lane_session, storage.lanes, committed, storage.blocked_by) as lanes:
        for prepared in batches:
            batch = prepared[1]
            keys = None if batch.keys is None else frozenset(batch.keys)
            # a header stored by a committed batch is only read again (no lock taken)
            fresh = [sha for sha, _ in batch.headers if sha not in committed_headers]
            if keys is not None and fresh:
                keys = keys.union(fresh)
            lanes.submit(keys, writer(prepared))
