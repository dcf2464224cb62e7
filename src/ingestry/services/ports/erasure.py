"""ErasureStorage: remove one record and what it came from, in one transaction; and
DeletionStorage: soft delete, a tombstone version per delete (docs/deleting.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import DeleteOutcome, Deletion, DeletionDraft
from ingestry.domain.erasure import AuditDraft, ErasureAudit, ErasureCounts
from ingestry.domain.records import Record


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


class DeletionStorage(Protocol):
    def delete_record(
        self, convention: Convention, srn: str, draft: DeletionDraft
    ) -> DeleteOutcome | None:
        """In one transaction: keep the current version in history, make the record's
        next version a tombstone (content hash `TOMBSTONE_HASH`), write who/when/why
        and its outbox event. A record already deleted is left alone (`already`).
        None (nothing written) when there is no such record."""
        ...

    def deleted_record(self, convention: Convention, srn: str) -> Record | None:
        """The tombstone version of `srn`, with `deleted` set, when its current version
        is one; None when the record is live or unknown."""
        ...

    def tombstones(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Deletion]:
        """Which of these (srn, version) are tombstone versions, with who/when/why."""
        ...
