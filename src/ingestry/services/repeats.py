"""Ids repeated two or more batches apart in one run: noticed, then deferred next time.

The look-ahead of `services.supersede` decides an id repeated within a batch or in the
next one. An occurrence further on cannot be known when the earlier batch is written
(each batch commits on its own, and memory stays about one batch), so that run writes
the id batch by batch, each occurrence a version, the last one winning. What made an
identical re-ingest move the version again is that the next run did the same.

So every run *notices* its far-apart ids (`FarRepeats.observe`: the ids a batch holds
that a batch two or more before it held too), and the storage keeps them per source at
the end of the run. The next run of the source *defers* those ids: their record rows
are taken out of every batch (raw rows and receipts are written with the batch as
always), the last one of each is kept aside, and they are written after the last
batch, once: the run's net effect. An unchanged file is then all unchanged, and a file
whose later occurrence is gone writes the id from the occurrence that is left.

Memory: the ids seen so far are kept as their 64-bit hashes: in a Python set up to
`SMALL` of them (~60 bytes an id, the cheapest to check: most runs), then in sorted
numpy arrays (log-structured: a batch's array merges with the last one while not
smaller), 8 bytes an id, a batch checked with one binary search per level (C), for
the ids a Bloom filter (`hashfilter`, 2-4 bytes an id) says may be there. So the
memory is ~12 bytes an id past `SMALL` (12 MB a million ids, where the rows written
are ~1 GB), and runs under `SMALL` ids never import numpy. A hash collision can only
defer an id that did not need it, which writes it once at the end: still right. The
rows set aside are one per deferred id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ingestry.services.hashfilter import HashFilter
from ingestry.services.ports import RecordRow

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


#: How many ids a run keeps in a Python set (~60 bytes each) before moving to numpy.
SMALL = 200_000


class FarRepeats:
    """One run's far-apart ids: those it defers (`deferred`, noticed by the source's
    previous run) and those it notices (`found`, kept for the next run)."""

    def __init__(self, deferred: frozenset[str] = frozenset(), small: int = SMALL) -> None:
        self.deferred = deferred
        self.found: set[str] = set()
        self._batches = 0
        #: the last two batches' ids, with their hashes once `_find` made them
        self._held: list[tuple[frozenset[str], NDArray[np.int64] | None]] = []
        self._small = small
        self._seen: set[int] | None = set()  # None once the hashes moved to `_levels`
        self._levels: list[NDArray[np.int64]] = []
        self._filter: HashFilter | None = None  # which hashes the levels may hold
        self._aside: dict[str, tuple[int, RecordRow]] = {}
        self._lock = threading.Lock()  # write lanes set rows aside side by side

    def observe(self, ids: frozenset[str]) -> tuple[int, frozenset[str]]:
        """The batch's number, and which of its ids to defer. Batches are observed in
        input order; the ids a batch shares with one two or more before it are found."""
        number = self._batches
        self._batches += 1
        self._held.append((ids, None))
        if len(self._held) == 3:
            self._add(*self._held.pop(0))
            self._held[-1] = (ids, self._find(ids))
        deferred = ids & self.deferred if self.deferred else frozenset()
        return number, deferred

    def _add(self, ids: frozenset[str], hashes: NDArray[np.int64] | None) -> None:
        if not ids:
            return  # a batch of quarantined payloads only: no ids
        if self._seen is not None:
            self._seen.update(map(hash, ids))
            if len(self._seen) <= self._small:
                return
            import numpy as np  # only runs of more than SMALL ids pay for the import

            merged = np.sort(np.fromiter(self._seen, dtype=np.int64, count=len(self._seen)))
            self._seen = None
            self._filter = HashFilter(len(merged))
        else:
            import numpy as np

            merged = np.sort(_hashes(list(ids)) if hashes is None else hashes)
        added = merged
        while self._levels and len(self._levels[-1]) <= len(merged):
            # two sorted runs: the stable sort (timsort) merges them in linear time
            merged = np.sort(np.concatenate((self._levels.pop(), merged)), kind="stable")
        self._levels.append(merged)
        assert self._filter is not None
        self._filter.add(added, self._levels)

    def _find(self, ids: frozenset[str]) -> NDArray[np.int64] | None:
        """Note the ids of `ids` seen two or more batches before; their hashes, once
        the seen ones are numpy levels (for `_add` to reuse)."""
        if not ids:
            return None
        if self._seen is not None:
            seen = self._seen
            self.found.update(i for i in ids if hash(i) in seen)
            return None
        import numpy as np

        order = list(ids)
        hashes = _hashes(order)
        assert self._filter is not None
        maybe = np.flatnonzero(self._filter.may_hold(hashes))  # the rest: never seen
        if len(maybe):
            candidates = [order[k] for k in maybe.tolist()]
            needles = hashes[maybe]
            by_hash = np.argsort(needles)
            needles = needles[by_hash]  # sorted: each binary search starts from the last
            hit = np.zeros(len(candidates), dtype=bool)
            for level in self._levels:
                at = np.minimum(np.searchsorted(level, needles), len(level) - 1)
                hit |= level[at] == needles
            if hit.any():
                self.found.update(candidates[i] for i in by_hash[hit].tolist())
        return hashes

    def set_aside(self, number: int, rows: Iterable[RecordRow]) -> None:
        """Keep the deferred rows of batch `number`; a later batch's row of an id wins."""
        with self._lock:
            for row in rows:
                held = self._aside.get(row[1])
                if held is None or held[0] <= number:
                    self._aside[row[1]] = (number, row)

    @property
    def pending(self) -> bool:
        """Whether the end of the run has anything to write: rows set aside, or far-apart
        ids to keep (or the previous run's to clear)."""
        return bool(self._aside or self.found or self.deferred)

    def rows(self) -> list[RecordRow]:
        """The deferred ids' last rows, in the order their batches came."""
        return [row for _, row in sorted(self._aside.values(), key=lambda held: held[0])]


def _hashes(ids: list[str]) -> NDArray[np.int64]:
    """The ids' hashes (cached on each string: the batch's key set computed them)."""
    import numpy as np

    return np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids))
