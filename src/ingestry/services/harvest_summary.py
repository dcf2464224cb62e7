"""A harvest run's summary and progress callback (kept apart from services.harvest so
the entry points can name them without the run's machinery)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingestry.services.runcontext import IngestSummary

__all__ = ["HarvestProgress", "HarvestSummary"]

#: (pages, items, requests) so far
HarvestProgress = Callable[[int, int, int], None]


@dataclass(slots=True)
class HarvestSummary(IngestSummary):
    """`ingest`'s summary plus the contract's harvest counts."""

    pages: int = 0
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    not_modified: int = 0
    cursor: str | None = None
    #: a child resource's parents whose first page answered 404 (gone upstream)
    parents_missing: int = 0
