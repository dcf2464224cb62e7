"""`ingestry fork --from URL --key KEY [--convention C] [--since T]`: copy another
node's records through its changes feed, with `fork` provenance.

Each record arrives as `fork` (`source_node` = the remote node's id, `id` = the remote
srn) and goes through the publish path's upsert, so a second fork is all unchanged
and a remote record that changed becomes a new local version; a remote record
soft-deleted comes as its tombstone and deletes the local copy (docs/deleting.md). Pages are read in
cursor order; after each page is published (committed), its next cursor is kept in
the store per remote node and scope (the convention, or `*`), so a fork that was
killed resumes where the last committed page ended: the page it was in is read again
and comes out unchanged, never twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from ingestry.domain.clock import iso, utc_now
from ingestry.domain.errors import IngestryError, InputError, RecordNotFoundError
from ingestry.domain.provenance import ForkSource
from ingestry.domain.records import srn_of
from ingestry.services.deletion import DeleteReport
from ingestry.services.ports import ChangeFeed, RemoteNode, RemotePage
from ingestry.services.publish import ImportItem, PublishService, PublishSummary

#: Records per page asked of the remote (its maximum is 1,000... see the API's limit).
PAGE = 1000
ALL = "*"

ForkProgress = Callable[[int], None]
#: (local srn, reason, actor) → the delete's report (RecordNotFoundError: no such record)
DeleteFn = Callable[[str, str | None, str], DeleteReport]


@dataclass(slots=True)
class ForkSummary:
    """As `import`'s summary (DESIGN: fork's summary is import's), plus where from."""

    url: str
    node_id: str = ""
    records_created: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    records_deleted: int = 0
    raw_stored: int = 0
    raw_duplicates: int = 0
    received: int = 0
    rejected: int = 0
    pages: int = 0
    cursor: str | None = None
    resumed_from: str | None = None
    errors: list[str] = field(default_factory=list)
    conventions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "node_id": self.node_id,
            "records_created": self.records_created,
            "records_updated": self.records_updated,
            "records_unchanged": self.records_unchanged,
            "records_deleted": self.records_deleted,
            "raw_stored": self.raw_stored,
            "raw_duplicates": self.raw_duplicates,
            "received": self.received,
            "rejected": self.rejected,
            "pages": self.pages,
            "cursor": self.cursor,
            "resumed_from": self.resumed_from,
            "errors": self.errors,
            "conventions": self.conventions,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, slots=True)
class ForkRequest:
    url: str
    convention: str | None = None
    since: str | None = None
    page_size: int = PAGE


class ForkService:
    def __init__(
        self,
        publisher: PublishService,
        local_conventions: set[str],
        cursors: ChangeFeed,
        local_node: str,
        delete: DeleteFn | None = None,
    ) -> None:
        self.publisher = publisher
        self.local_conventions = local_conventions
        self.cursors = cursors
        self.local_node = local_node
        #: soft-deletes a local copy whose remote record came as a tombstone
        self.delete = delete

    def fork(
        self, remote: RemoteNode, request: ForkRequest, progress: ForkProgress | None = None
    ) -> ForkSummary:
        started = time.perf_counter()
        summary = ForkSummary(request.url)
        info = remote.info()
        summary.node_id = info.node_id
        self._check(info.node_id, info.conventions, request)
        scope = request.convention or ALL
        after = self.cursors.fork_cursor(info.node_id, scope)
        summary.resumed_from = summary.cursor = after
        while True:
            page = remote.changes(after, request.page_size, request.convention, request.since)
            summary.pages += 1
            if not self._publish(page, info.node_id, summary):
                break  # rejected records: the cursor stays before this page
            after = summary.cursor = page.next_cursor
            self.cursors.save_fork_cursor(info.node_id, scope, after, iso(utc_now()))
            if progress is not None:
                progress(summary.received)
            if not page.has_more:
                break
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _check(self, node: str, remote: tuple[str, ...], request: ForkRequest) -> None:
        if node == self.local_node:
            raise InputError(f"{request.url} is this store itself (node {node}): nothing to fork")
        wanted = [request.convention] if request.convention else list(remote)
        if request.convention and request.convention not in remote:
            raise InputError(
                f"node {node} at {request.url} has no convention '{request.convention}' "
                f"this key may read (it offers: {', '.join(remote) or 'none'})"
            )
        missing = [c for c in wanted if c not in self.local_conventions]
        if missing:
            raise InputError(
                f"convention{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                f"of node {node} do{'' if len(missing) > 1 else 'es'} not exist here: declare "
                "them in ingestry.yaml (same columns as on the remote node), then fork again"
            )

    def _publish(self, page: RemotePage, node: str, summary: ForkSummary) -> bool:
        """Publish one page, a convention's run at a time; False when any was rejected."""
        ok = True
        for convention, group in groupby(page.records, key=lambda d: str(d.get("convention"))):
            docs = list(group)
            tombstones = [d for d in docs if d.get("deleted")]
            items = list(_items((d for d in docs if not d.get("deleted")), node))
            summary.received += len(docs)
            self._delete(convention, tombstones, node, summary)
            try:
                done = self.publisher.import_records(convention, items)
            except IngestryError as exc:
                summary.rejected += len(items)
                summary.errors.append(f"convention {convention}: {exc}")
                return False
            self._count(summary, done)
            if convention not in summary.conventions:
                summary.conventions.append(convention)
            ok = ok and not done.rejected
        return ok

    def _delete(
        self, convention: str, docs: list[dict[str, Any]], node: str, summary: ForkSummary
    ) -> None:
        """Remote tombstones delete the local copies; a record never copied here is
        not created (nothing to delete)."""
        if self.delete is None:
            return
        for doc in docs:
            local = srn_of(convention, ForkSource(id=str(doc["srn"]), source_node=node))
            reason = (doc.get("deleted") or {}).get("reason")
            try:
                report = self.delete(local, reason, f"fork:{node}")
            except RecordNotFoundError:
                continue
            if not report.already:
                summary.records_deleted += 1

    @staticmethod
    def _count(summary: ForkSummary, done: PublishSummary) -> None:
        summary.records_created += done.created
        summary.records_updated += done.updated
        summary.records_unchanged += done.unchanged
        summary.rejected += done.rejected
        summary.errors += [f"record {e.index + 1} of a page: {e.reason}" for e in done.errors]


def _items(docs: Iterator[dict[str, Any]], node: str) -> Iterator[ImportItem]:
    for doc in docs:
        source = ForkSource(id=str(doc["srn"]), source_node=node)
        yield source, None, doc.get("metadata") or {}, doc.get("columns") or {}
