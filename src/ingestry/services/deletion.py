"""Soft delete of a record (issue 19 item 3; docs/deleting.md).

A delete writes a tombstone version: the record leaves lists, counts, exports, query
views and the feed's live copies, its history stays, and a `RecordDeleted` event goes
through the outbox. Deleting a deleted record changes nothing. New content for the id
(ingest, publish, fork) brings it back as the next version; replay never does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import Deletion, DeletionDraft
from ingestry.domain.errors import InputError, RecordDeletedError, RecordNotFoundError
from ingestry.domain.records import Record, parse_srn
from ingestry.services.ports import Storage

#: Longest reason kept (it is shown with every read of the tombstone).
MAX_REASON = 2000

#: Srns a delete by selection reads at a time (then deletes, one transaction each).
DELETE_PAGE = 500


@dataclass(frozen=True)
class DeleteReport:
    srn: str
    convention: str
    deletion: Deletion
    already: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "srn": self.srn,
            "convention": self.convention,
            "deleted": True,
            "status": "already deleted" if self.already else "deleted",
            "already_deleted": self.already,
            **self.deletion.as_dict(),
        }


@dataclass
class DeleteTally:
    """What a delete by selection did so far (a `delete` job's progress and result);
    `after` is the last srn done, where a job taken over by another worker goes on."""

    deleted: int = 0
    already: int = 0
    after: str | None = None

    @classmethod
    def resume(cls, progress: Mapping[str, Any] | None) -> DeleteTally:
        """The tally a previous attempt published (none: a fresh one)."""
        p = progress or {}
        after = p.get("after")
        return cls(
            int(p.get("deleted") or 0),
            int(p.get("already_deleted") or 0),
            str(after) if after else None,
        )

    def add(self, report: DeleteReport) -> None:
        if report.already:
            self.already += 1
        else:
            self.deleted += 1
        self.after = report.srn

    def as_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "already_deleted": self.already, "after": self.after}


class DeletionService:
    def __init__(
        self,
        storage: Storage,
        convention: Callable[[str], Convention],
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.storage = storage
        self.convention = convention
        self.clock = clock

    def delete(self, srn: str, *, reason: str | None, actor: str) -> DeleteReport:
        """Tombstone `srn` (RecordNotFoundError when there is no such record)."""
        if reason is not None and len(reason) > MAX_REASON:
            raise InputError(f"a delete reason is at most {MAX_REASON} characters")
        convention = self._convention(srn)
        draft = DeletionDraft(actor=actor, reason=reason or None, at=iso(self.clock()))
        outcome = self.storage.deletion().delete_record(convention, srn, draft)
        if outcome is None:
            raise RecordNotFoundError(f"no record {srn}")
        return DeleteReport(srn, convention.name, outcome.deletion, outcome.already)

    def tombstone(self, srn: str) -> Record | None:
        """The record's tombstone when its current version is one."""
        return self.storage.deletion().deleted_record(self._convention(srn), srn)

    def missing(self, srn: str) -> RecordNotFoundError:
        """The error for a record `get` did not find: deleted (when, by whom, what to
        do to see it) or unknown."""
        found = self.tombstone(srn)
        if found is None or found.deleted is None:
            return RecordNotFoundError(f"no record {srn}")
        d = found.deleted
        why = f": {d.reason}" if d.reason else ""
        return RecordDeletedError(
            f"{srn} was deleted at version {d.version} ({d.deleted_at.isoformat()}, by "
            f"{d.actor}{why}); `--include-deleted` shows the tombstone, `records history` "
            "every version, and new content for its id brings it back"
        )

    def mark(self, versions: Sequence[Record]) -> list[Record]:
        """`versions` with `deleted` set on those that are tombstones."""
        found = self.storage.deletion().tombstones([(r.srn, r.version) for r in versions])
        return [
            replace(r, deleted=found[(r.srn, r.version)]) if (r.srn, r.version) in found else r
            for r in versions
        ]

    def history(self, srn: str, versions: list[Record]) -> list[Record]:
        """A record's versions as storage keeps them, plus its current tombstone (which
        current-record reads leave out), each tombstone marked."""
        current = self.tombstone(srn)
        if current is not None and all(r.version != current.version for r in versions):
            versions = [*versions, current]
        return self.mark(versions) if versions else versions

    def _convention(self, srn: str) -> Convention:
        try:
            name = parse_srn(srn)[0]
        except ValueError as exc:
            raise RecordNotFoundError(str(exc)) from None
        return self.convention(name)
