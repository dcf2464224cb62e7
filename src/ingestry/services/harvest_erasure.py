"""What an erasure does to a pulled source's pages (docs/erasure.md, "Harvested pages").

`harvest_pages` keeps every response's bytes, so an erased record's item is still in
the pages that held it after its record and raw payloads go. The source's pages are
walked (keyset, a few at a time), each framed as a harvest frames it and each item's
id read by the source's own extractor: the same id the record was made from. A page
holding it has its body emptied and its ETag dropped; the row keeps the request,
status, headers and the body's sha256 (a hash, as the audit keeps). A page that does
not frame (a quarantined response) cannot say which items it held: it is emptied when
the id's text is anywhere in it. The walk runs under the source's run lock, so no run
adds a page holding the item while it runs.
"""

from __future__ import annotations

from collections.abc import Callable

from ingestry.domain.errors import ExtractionError
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.bodies import BodyFormat, BodyInput
from ingestry.services.ports import UnframeableError
from ingestry.services.ports.harvest import HarvestLedger, RunLocks

#: Pages read a query: ~90 KB each for 1,000 small items.
SWEEP_PAGES = 64


class PageEraser:
    """Empties the pages of a pulled source that hold an item of a given id."""

    def __init__(
        self,
        ledger: HarvestLedger,
        locks: RunLocks,
        extractor: Callable[[DataSource], Extractor],
    ) -> None:
        self.ledger = ledger
        self.locks = locks
        self.extractor = extractor

    def erase(self, source: DataSource, source_id: str, at: str) -> int:
        """Empty every page of `source` holding the item `source_id`; how many."""
        extractor = self.extractor(source)
        hits: list[int] = []
        after = 0
        while batch := self.ledger.page_bodies(source.name, after, SWEEP_PAGES):
            hits += [i for i, body in batch if holds(body, source, extractor, source_id)]
            after = batch[-1][0]
        return self.ledger.erase_pages(hits, at) if hits else 0


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
