"""ErasureStorage: remove one record and what it came from, in one transaction."""

from __future__ import annotations

from typing import Protocol

from ingestry.domain.conventions import Convention
from ingestry.domain.erasure import AuditDraft, ErasureAudit, ErasureCounts


class ErasureStorage(Protocol):
    def erase_record(
        self, convention: Convention, srn: str, raw_sources: frozenset[str], audit: AuditDraft
    ) -> ErasureCounts | None:
        """Delete the record `srn`, its versions, events, hook runs and features, and
        the raw payloads (with receipts) of its source id in those of its data sources
        that are in `raw_sources`; write the audit row; all in one transaction. None
        (nothing written) when there is no such record."""
        ...

    def erasure_audits(self, srn_sha256: str | None, limit: int | None) -> list[ErasureAudit]:
        """Audit rows, newest first (of one record's digest when given)."""
        ...
