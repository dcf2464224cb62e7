"""The facade's federation: this node's changes feed, and forking from another node."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ingestry.domain.errors import InputError
from ingestry.services.fork import PAGE
from ingestry.store.records import RecordArea

if TYPE_CHECKING:
    from ingestry.services.changes import ChangePage, Visible
    from ingestry.services.fork import ForkProgress, ForkSummary

#: most change rows one feed page reads
MAX_PAGE = 1000


class FederationArea(RecordArea):
    """`GET /v1/changes` and `ingestry fork` (docs/federation.md)."""

    def changes(
        self,
        after: str | None = None,
        *,
        limit: int = 100,
        conventions: Sequence[str] | None = None,
        visible: Visible | None = None,
    ) -> ChangePage:
        """Records created or changed after the cursor `after` (a page's
        `next_cursor`; None: from the start), in cursor order, of these conventions
        (None: every one), at most `limit` change rows read."""
        from ingestry.services.changes import parse_cursor, read_changes

        if not 1 <= limit <= MAX_PAGE:
            raise InputError(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
        names = list(self.settings.conventions) if conventions is None else list(conventions)
        wanted = [self.settings.convention(name) for name in names]
        return read_changes(
            self.storage.change_feed(), wanted, parse_cursor(after), limit, visible,
            self.storage.deletion().tombstones,
        )  # fmt: skip

    def fork(
        self,
        url: str,
        key: str,
        *,
        convention: str | None = None,
        since: str | None = None,
        page_size: int = PAGE,
        progress: ForkProgress | None = None,
    ) -> ForkSummary:
        """Copy the records of the node at `url` (its API, read with `key`) here with
        `fork` provenance, resuming where the last fork from that node stopped."""
        from ingestry.bootstrap import build_remote_node
        from ingestry.services.fork import ForkRequest, ForkService

        if convention is not None:
            self.settings.convention(convention)  # unknown here: the registry's error
        service = ForkService(
            self._publisher,
            set(self.settings.conventions),
            self.storage.change_feed(),
            self.storage.node_id(),
            lambda srn, reason, actor: self.delete(srn, reason=reason, actor=actor),
        )
        remote = build_remote_node(url, key)
        try:
            return service.fork(remote, ForkRequest(url, convention, since, page_size), progress)
        finally:
            remote.close()
