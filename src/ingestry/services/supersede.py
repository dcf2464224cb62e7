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
Those the run notices, and the next run of the source defers them to their last
occurrence (`services.repeats`): `deferred` below.

Every payload stays a receipt: only record rows are left out, never raw rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ingestry.services.ports import PreparedBatch
from ingestry.services.repeats import FarRepeats

W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class Overlap:
    """What a batch shares with its neighbours: `later`, the ids the next batch holds
    (this batch's rows of them are superseded); `carried`, the ids this batch holds
    that the previous one left to it (and counted already); `deferred`, the ids it
    holds that the run writes after its last batch (`services.repeats`), and `number`,
    the batch's place in the run."""

    later: frozenset[str] = frozenset()
    carried: frozenset[str] = frozenset()
    deferred: frozenset[str] = frozenset()
    number: int = 0


def ids_of(batch: PreparedBatch) -> frozenset[str]:
    """The record ids a batch holds (its lock keys' texts: record ids, or a scanned
    batch's guessed ids; the other keys are sha256 bytes)."""
    if batch.keys is not None:
        return frozenset(k for k in batch.keys if type(k) is str)
    return frozenset(r[1] for r in batch.records)


def with_overlaps(
    batches: Iterable[tuple[W, PreparedBatch]], repeats: FarRepeats | None = None
) -> Iterator[tuple[W, PreparedBatch, Overlap]]:
    """Each batch once the next is prepared, with its `Overlap`. When preparing the
    next one raises (a stop requested, an unreadable input), the batch in hand is
    still yielded first, whole: what was prepared before the failure is written, as
    it was without the look-ahead. `repeats` observes every batch, in order."""
    held: tuple[W, PreparedBatch, frozenset[str], Overlap] | None = None
    carried: frozenset[str] = frozenset()
    upcoming = iter(batches)
    while True:
        try:
            work, batch = next(upcoming)
        except StopIteration:
            break
        except BaseException:
            if held is not None:
                yield held[0], held[1], _with(held[3], frozenset(), carried)
            raise
        ids = ids_of(batch)
        if held is not None:
            later = held[2] & ids
            yield held[0], held[1], _with(held[3], later, carried)
            carried = later
        own = Overlap()
        if repeats is not None:
            number, deferred = repeats.observe(ids)
            own = Overlap(deferred=deferred, number=number)
        held = (work, batch, ids, own)
    if held is not None:
        yield held[0], held[1], _with(held[3], frozenset(), carried)


def _with(own: Overlap, later: frozenset[str], carried: frozenset[str]) -> Overlap:
    return Overlap(later, carried, own.deferred, own.number)


def supersede(
    batch: PreparedBatch, overlap: Overlap, repeats: FarRepeats | None = None
) -> PreparedBatch:
    """`batch` without the record rows the next batch supersedes (a lean batch's rows
    are rebuilt for it; its wire keeps only the raw part), nor those of its deferred
    ids (set aside in `repeats`), reporting its repeated ids (less those an earlier
    batch counted)."""
    later = overlap.later
    if overlap.deferred and repeats is not None:
        deferred = overlap.deferred
        repeats.set_aside(overlap.number, [r for r in batch.records if r[1] in deferred])
        later = later | deferred
    if later:
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
