"""Values a batch carries between its preparation (maybe in a worker process) and its
write: adapters that move batches (`adapters/parallel.py`) need them too."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ingestry.extract.framing import Frame, LineBlock
from ingestry.services.ports.rows import QuarantineRow, RawRow, ReceiptKey, RecordRow, Wire

T = TypeVar("T")

#: Held while any `LazyRows` builds (re-entrant: a build may read other lazy rows).
#: Builds are GIL-bound work, so one lock for all costs no parallelism.
_BUILDING = threading.RLock()

#: One batch to prepare: (frames, or a block of lines to frame; received_at, origin, CSV
#: header or None, scan only?, lean?).
BatchWork = tuple[list[Frame] | LineBlock, str, str, tuple[bytes, bytes] | None, bool, bool]


class LazyRows(Sequence[T]):
    """Rows whose count is known before they are: made on first read (`_build`), so a
    write path that only needs the count (or a pre-encoded wire) never pays for them."""

    __slots__ = ("_length", "_rows")

    def __init__(self, length: int) -> None:
        self._length = length
        self._rows: Sequence[T] | None = None

    def _build(self) -> Sequence[T]:
        raise NotImplementedError

    @property
    def rows(self) -> Sequence[T]:
        rows = self._rows
        if rows is None:
            # a write lane's thread and the batch mover (`adapters/parallel.py`, which
            # unpacks rows before their slot is reused) may both come first: one
            # builds, the other waits for its rows (a second `_build` would read a
            # buffer the first already let go of)
            with _BUILDING:
                rows = self._rows
                if rows is None:
                    rows = self._rows = self._build()
        return rows

    @property
    def built(self) -> bool:
        return self._rows is not None

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        return self.rows[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self.rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(other) == self._length and list(other) == list(self.rows)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._length} rows)"


@dataclass(slots=True)
class PreparedBatch:
    raw: Sequence[RawRow] = field(default_factory=list)
    records: Sequence[RecordRow] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    received: int = 0
    #: the CSV header of the batch's quarantined rows (quarantine replay re-reads them)
    quarantine_header: tuple[bytes, bytes] | None = None
    #: Set instead of the rows when the batch was only scanned (see services.rescan).
    scan: list[tuple[int, str, bytes]] | None = None
    #: The line of each payload in `scan` (its receipt's line, should it be skipped).
    scan_lines: list[int] | None = None
    #: Payloads of the batch found to be no-ops before preparation (not in the rows).
    skipped: int = 0
    #: The receipts of the skipped payloads (stored already, so not in the raw rows).
    receipts: list[ReceiptKey] = field(default_factory=list)
    #: The rows pre-encoded for the storage's write path, when it has one (WireEncoding).
    wire: Wire | None = None
    #: What the batch's writes lock (see `batch_keys`; a tuple: it marshals ~20x faster
    #: than a frozenset, which marshal sorts); None: not known, so everything.
    keys: tuple[str | bytes, ...] | None = None
    #: (raw rows, record rows) a worker left out, the wire carrying them (a lean batch).
    omitted: tuple[int, int] | None = None
    #: Ids that occurred more than once among the batch's payloads: only the last
    #: occurrence of each is in `records` (the raw rows keep every one).
    repeated: tuple[str, ...] = ()
    #: How many ids this batch reports as repeated (`repeated`, and those it shares
    #: with the next batch: see `services.supersede`).
    duplicate_ids: int = 0
