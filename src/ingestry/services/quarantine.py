"""Quarantine decisions: discard entries for a stated reason (release is replay's job).

A discard is a decision on the record: who, when and why are kept on the entry, its
bytes are dropped (a raw source still has them in its raw row until retention).
"""

from __future__ import annotations

from collections.abc import Sequence

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.errors import IngestryError, RecordNotFoundError
from ingestry.services.ports import Storage


class QuarantineDecisionError(IngestryError):
    """A discard that names entries that are not open, or gives no reason."""


class QuarantineService:
    def __init__(self, storage: Storage, *, clock: Clock = utc_now) -> None:
        self.storage = storage
        self.clock = clock

    def discard(self, ids: Sequence[int], *, reason: str, actor: str) -> list[int]:
        """Discard open entries; all or nothing (an unknown or closed id changes none)."""
        if not reason.strip():
            raise QuarantineDecisionError("a discard needs a reason (--reason)")
        ops = self.storage.raw_operations()
        by_source: dict[str, list[int]] = {}
        for entry_id in dict.fromkeys(ids):
            detail = ops.quarantine_entry(entry_id)
            if detail is None:
                raise RecordNotFoundError(f"no quarantine entry #{entry_id}")
            if detail.entry.status != "open":
                raise QuarantineDecisionError(
                    f"quarantine entry #{entry_id} ({detail.entry.source}) is "
                    f"{detail.entry.status} already: nothing was discarded"
                )
            by_source.setdefault(detail.entry.source, []).append(entry_id)
        done: list[int] = []
        with ops.session() as session:
            for source, wanted in by_source.items():
                done += session.resolve_quarantine(
                    source,
                    ids=wanted,
                    status="discarded",
                    resolution=reason,
                    actor=actor,
                    now=iso(self.clock()),
                )
        return sorted(done)
