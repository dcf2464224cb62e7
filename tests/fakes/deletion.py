"""The DeletionStorage fake: a tombstone version on the fake's dicts, one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import TOMBSTONE_HASH, DeleteOutcome, Deletion, DeletionDraft
from ingestry.domain.records import Record, parse_srn

if TYPE_CHECKING:
    from tests.fakes.storage import MemoryStorage


class MemoryDeletion:
    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage

    def delete_record(
        self, convention: Convention, srn: str, draft: DeletionDraft
    ) -> DeleteOutcome | None:
        from tests.fakes.storage import MemorySession

        identity = parse_srn(srn)[1:]
        with self.storage.db.transaction() as t:
            current = t.records.get(convention.name, {}).get(identity)
            if current is None:
                return None
            if current["content_hash"] == TOMBSTONE_HASH:
                return DeleteOutcome(t.deletions[(srn, current["version"])], already=True)
            MemorySession(t)._keep_history(convention, current, draft.at)
            version = current["version"] + 1
            current.update(content_hash=TOMBSTONE_HASH, version=version, updated_at=draft.at)
            t.changes.append((t.next_id("record_changes"), convention.name, current["id"], version))
            at = datetime.fromisoformat(draft.at)
            deletion = Deletion(srn, version, at, draft.actor, draft.reason)
            t.deletions[(srn, version)] = deletion
            ident = t.next_id("events")
            t.events[ident] = {
                "id": ident, "srn": srn, "convention": convention.name, "version": version,
                "created_at": draft.at, "attempts": 0, "status": "pending",
                "available_at": None, "lease_owner": None, "leased_until": None,
                "last_error": None, "failed_at": None,
            }  # fmt: skip
            return DeleteOutcome(deletion, already=False)

    def deleted_record(self, convention: Convention, srn: str) -> Record | None:
        from tests.fakes.storage import record_of

        identity = parse_srn(srn)[1:]
        row = self.storage.db.tables.records.get(convention.name, {}).get(identity)
        if row is None or row["content_hash"] != TOMBSTONE_HASH:
            return None
        found = self.storage.db.tables.deletions[(srn, row["version"])]
        return replace(record_of(convention, row), deleted=found)

    def tombstones(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Deletion]:
        found = self.storage.db.tables.deletions
        return {key: found[key] for key in keys if key in found}
