"""Erasure of a record for a GDPR-style request (issue 19 item 3; docs/erasure.md).

Refused while a legal hold covers its data source or its id there; otherwise the
storage removes everything in one transaction and writes the audit row (hashes only).
Nothing stays to replay: the raw payloads of the id are gone, so a replay cannot bring
the record back. New input with the same id creates it again (version 1); the audit
row stays, and `erasures --srn` finds it by the srn's digest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.conventions import Convention
from ingestry.domain.erasure import AuditDraft, ErasureAudit, ErasureCounts, srn_digest
from ingestry.domain.errors import ErasureBlockedError, InputError, RecordNotFoundError
from ingestry.domain.records import parse_srn
from ingestry.domain.sources import DataSource
from ingestry.services.harvest_kept import KeptPages
from ingestry.services.holds import blocking_hold
from ingestry.services.ports import Storage


@dataclass(frozen=True)
class ErasureReport:
    srn: str
    convention: str
    removed: ErasureCounts
    actor: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "srn": self.srn,
            "erased": True,
            "convention": self.convention,
            "data_sources": list(self.removed.data_sources),
            "audit_id": self.removed.audit_id,
            "srn_sha256": srn_digest(self.srn),
            "actor": self.actor,
            "reason": self.reason,
            **self.removed.counts(),
        }


class ErasureService:
    def __init__(
        self,
        storage: Storage,
        convention: Callable[[str], Convention],
        sources: Mapping[str, DataSource],
        *,
        clock: Clock = utc_now,
        pages: KeptPages | None = None,
    ) -> None:
        self.storage = storage
        self.convention = convention
        self.sources = sources
        self.clock = clock
        #: a pulled source's pages that held the item (docs/erasure.md)
        self.pages = pages

    def erase(self, srn: str, *, reason: str, actor: str) -> ErasureReport:
        if not reason.strip():
            raise InputError("an erasure needs a reason (--reason): it is kept in the audit")
        try:
            name, source_type, upstream, source_id = parse_srn(srn)
        except ValueError as exc:
            raise RecordNotFoundError(str(exc)) from None
        convention = self.convention(name)
        record = self.storage.get_record(convention, srn)
        if record is None:  # a soft-deleted record is erasable too (its tombstone)
            record = self.storage.deletion().deleted_record(convention, srn)
        pulled = self._pulled(source_type, upstream)
        if record is None and pulled is None:
            raise RecordNotFoundError(f"no record {srn}")
        now = iso(self.clock())
        raw = frozenset(n for n, s in self.sources.items() if s.is_raw)
        source = record.data_source if record is not None else upstream
        held = blocking_hold(self.storage, [s for s in [source] if s in raw], source_id, now)
        if held is not None:
            scope = f" id {held.source_id}" if held.source_id else ""
            raise ErasureBlockedError(
                f"{srn}: raw hold #{held.id} on {held.source}{scope} ({held.reason or 'no reason'})"
                f" blocks the erasure; nothing was removed. Release it first "
                f"(`ingestry raw release {held.id}`) if the hold no longer applies"
            )
        with self._locked(pulled):
            pages = 0
            if pulled is not None and self.pages is not None:
                pages = self.pages.erase(pulled, source_id, now)
            removed = self.storage.erasure().erase_record(
                convention, srn, raw, AuditDraft(actor, reason, now, harvest_pages=pages)
            )
        if removed is None:
            raise RecordNotFoundError(f"no record {srn}")
        return ErasureReport(srn, name, removed, actor, reason)

    def _pulled(self, source_type: str, upstream: str) -> DataSource | None:
        """The pulled data source whose pages may hold a harvested record's item."""
        found = self.sources.get(upstream) if source_type == "harvest" else None
        return found if found is not None and found.pull is not None else None

    def _locked(self, pulled: DataSource | None) -> AbstractContextManager[None]:
        """The source's run lock (no run adds a page while its pages are swept)."""
        if pulled is None or self.pages is None:
            return nullcontext()
        return self.pages.lock(pulled)

    def audits(self, srn: str | None = None, limit: int | None = 100) -> list[ErasureAudit]:
        digest = srn_digest(srn) if srn is not None else None
        return self.storage.erasure().erasure_audits(digest, limit)
