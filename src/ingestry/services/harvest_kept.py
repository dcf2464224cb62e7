"""A pulled source's kept pages, read by item: the page a simple source's record was
derived from (`raw show`), and the pages an erasure empties (docs/erasure.md,
"Harvested pages").

`harvest_pages` keeps every response's bytes. To find the pages holding an item, the
source's pages (or one run's) are walked (keyset, a few at a time), each framed as a
harvest frames it and each item's id read by the source's own extractor: the same id
the record was made from. A page that does not frame (a quarantined response) cannot
say which items it held: it counts as holding an id whose text is anywhere in it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from ingestry.domain.errors import ExtractionError
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.bodies import BodyFormat, BodyInput
from ingestry.services.ports import UnframeableError
from ingestry.services.ports.harvest import HarvestLedger, RunLocks, StoredPage

#: Pages read a query: ~90 KB each for 1,000 small items.
SWEEP_PAGES = 64


class KeptPages:
    """The pages of a pulled source that hold an item of a given id."""

    def __init__(
        self,
        ledger: HarvestLedger,
        locks: RunLocks,
        extractor: Callable[[DataSource], Extractor],
    ) -> None:
        self.ledger = ledger
        self.locks = locks
        self.extractor = extractor

    def holding(self, source: DataSource, source_id: str, run_srn: str | None = None) -> list[int]:
        """The ids of `source`'s pages (of one run, when given) holding `source_id`."""
        extractor = self.extractor(source)
        hits: list[int] = []
        after = 0
        while batch := self.ledger.page_bodies(source.name, after, SWEEP_PAGES, run_srn):
            hits += [i for i, body in batch if holds(body, source, extractor, source_id)]
            after = batch[-1][0]
        return hits

    def derived_from(self, source: DataSource, source_id: str, run_srn: str) -> StoredPage | None:
        """The page the run `run_srn` took `source_id` from (its last, if several)."""
        found = self.holding(source, source_id, run_srn)
        return self.ledger.page(found[-1]) if found else None

    def erase(self, source: DataSource, source_id: str, at: str) -> int:
        """Empty every page of `source` holding `source_id` (its body gone, its ETag
        dropped: the row keeps the request, status, headers and the body's sha256);
        how many. Run it under `lock(source)`: no run adds a page meanwhile."""
        hits = self.holding(source, source_id)
        return self.ledger.erase_pages(hits, at) if hits else 0

    def lock(self, source: DataSource) -> AbstractContextManager[None]:
        """The source's run lock (HarvestBusyError while a run holds it)."""
        return self.locks.hold(source.name)


def holds(body: bytes, source: DataSource, extractor: Extractor, source_id: str) -> bool:
    """Whether a page's body holds an item whose id is `source_id`."""
    page = BodyInput(body, BodyFormat.JSON, source, "page")
    spelled = source_id.encode()
    try:
        frames = list(page.frames())
    except UnframeableError:
        return spelled in body
    for frame in frames:
        if frame.error is not None:
            if spelled in frame.payload:
                return True
            continue
        try:
            if extractor.parse(frame.payload).source_id == source_id:
                return True
        except ExtractionError:
            if spelled in frame.payload:
                return True
    return False
