"""An ingest run: its summary, and the one context that opens and closes every run.

A run is recorded (`ingest_runs`) when it starts and when it ends. Where its batches
commit one by one, the start and the end are transactions of their own and a failure
is recorded as such; where the whole run is one transaction (strict runs, JSON
documents, a group of API requests), the start and the end are written in it, so a
failure leaves no trace of the run, as of its batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from ingestry.domain.clock import Clock, iso
from ingestry.services.ports import Storage, StorageSession

#: The summary's counters (what a batch adds to its run).
COUNTS = (
    "received", "raw_stored", "raw_duplicates", "records_created", "records_updated",
    "records_unchanged", "quarantined", "duplicate_ids",
)  # fmt: skip


@dataclass(slots=True)
class IngestSummary:
    """The contract's `--json` summary of one ingest run (plus the run's srn)."""

    source: str
    received: int = 0
    raw_stored: int = 0
    raw_duplicates: int = 0
    records_created: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    run_srn: str = ""
    #: ids seen more than once in the input: one record each, the last occurrence wins
    duplicate_ids: int = 0
    #: what reading each input decided (encoding used, delimiter, compressed container
    #: and its sha256); left out of `as_dict` when no input had anything to say
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.inputs:
            del out["inputs"]
        return out

    def add(self, part: IngestSummary) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(part, name))

    def count(self, parts: Iterable[IngestSummary]) -> None:
        """Set the counts to the sum of the batches' `parts` (seconds, srn untouched)."""
        totals = dict.fromkeys(COUNTS, 0)
        for part in parts:
            for name in COUNTS:
                totals[name] += getattr(part, name)
        for name, value in totals.items():
            setattr(self, name, value)


@contextmanager
def ingest_run(
    summary: IngestSummary,
    origins: Sequence[str],
    clock: Clock,
    *,
    storage: Storage | None = None,
    session: StorageSession | None = None,
    started: float | None = None,
) -> Iterator[IngestSummary]:
    """Record the run of `summary` around its work: in `session` (the run is one
    transaction), or in transactions of its own on `storage` (its batches commit one
    by one; a failure is then recorded as `failed`). `started` (a perf_counter) is when
    the run's work began, if before this context."""
    begun = time.perf_counter() if started is None else started

    def record(call: Callable[[StorageSession], None]) -> None:
        if session is not None:
            call(session)
            return
        assert storage is not None, "a run is recorded in a session or on a storage"
        with storage.session() as own:
            call(own)

    def finish(status: str) -> None:
        summary.seconds = round(time.perf_counter() - begun, 3)
        record(lambda s: s.finish_run(summary.run_srn, status, summary.as_dict(), iso(clock())))

    origin_names = list(origins)
    record(lambda s: s.start_run(summary.run_srn, summary.source, origin_names, iso(clock())))
    try:
        yield summary
    except BaseException:
        if session is None:  # in one transaction, a failure leaves no run behind
            finish("failed")
        raise
    finish("succeeded")
