"""An id repeated in an ingest's input: the last occurrence wins, and counts once.

Within a batch, preparation keeps the last row of each id (`batch.last_occurrences`).
Across batches, a batch is written only once the next one is prepared (the pipeline
holds one batch more than it would), and its rows whose ids the next batch holds
again are left out: the later occurrence wins there. So an id repeated within one
batch or in the next (however the input was cut into batches: 5,000 payloads inline,
blocks of lines by bytes in the workers) is written once, from its last occurrence,
counted once, and an input ingested again changes nothing. Occurrences further apart
than the next batch are written batch by batch, each a version of the record (the
last still wins); the memory this needs stays one batch, whatever the input's size.

Every payload stays a receipt: only record rows are left out, never raw rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ingestry.services.ports import PreparedBatch

W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class Overlap:
    """What a batch shares with its neighbours: `later`, the ids the next batch holds
    (this batch's rows of them are superseded); `carried`, the ids this batch holds
    that the previous one left to it (and counted already)."""

    later: frozenset[str] = frozenset()
    carried: frozenset[str] = frozenset()


def ids_of(batch: PreparedBatch) -> frozenset[str]:
    """The record ids a batch holds (its lock keys' texts: record ids, or a scanned
    batch's guessed ids; the other keys are sha256 bytes)."""
    if batch.keys is not None:
        return frozenset(k for k in batch.keys if type(k) is str)
    return frozenset(r[1] for r in batch.records)


def with_overlaps(
    batches: Iterable[tuple[W, PreparedBatch]],
) -> Iterator[tuple[W, PreparedBatch, Overlap]]:
    """Each batch once the next is prepared, with its `Overlap`. When preparing the
    next one raises (a stop requested, an unreadable input), the batch in hand is
    still yielded first, whole: what was prepared before the failure is written, as
    it was without the look-ahead."""
    held: tuple[W, PreparedBatch, frozenset[str]] | None = None
    carried: frozenset[str] = frozenset()
    upcoming = iter(batches)
    while True:
        try:
            work, batch = next(upcoming)
        except StopIteration:
            break
        except BaseException:
            if held is not None:
                yield held[0], held[1], Overlap(frozenset(), carried)
            raise
        ids = ids_of(batch)
        if held is not None:
            later = held[2] & ids
            yield held[0], held[1], Overlap(later, carried)
            carried = later
        held = (work, batch, ids)
    if held is not None:
        yield held[0], held[1], Overlap(frozenset(), carried)


def supersede(batch: PreparedBatch, overlap: Overlap) -> PreparedBatch:
    """`batch` without the record rows the next batch supersedes (a lean batch's rows
    are rebuilt for it; its wire keeps only the raw part), reporting its repeated ids
    (less those an earlier batch counted)."""
    if overlap.later:
        later = overlap.later
        kept = [r for r in batch.records if r[1] not in later]
        if len(kept) != len(batch.records):
            batch.records = kept
            if batch.wire is not None:
                batch.wire = {
                    k: v for k, v in batch.wire.items() if k not in ("records", "srn_lines")
                }
                batch.wire["complete"] = False
    batch.duplicate_ids = len((set(batch.repeated) | overlap.later) - overlap.carried)
    return batch
