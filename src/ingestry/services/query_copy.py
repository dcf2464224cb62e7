"""Parquet copies of conventions for `ingestry query --copy` (docs/data-out.md,
"Parquet copies"): DuckDB reads a Parquet file at its own speed, where a view fed from
the database through a Python driver cannot come near it.

The rule that keeps a copy from ever being read stale: before each query, the store's
change mark for the convention is compared with the mark taken *before* the copy's
rows were read (`ChangeFeed.changed_since`: a newer change row, one of a transaction
the mark did not see, or any erasure). A copy whose columns no longer match the
convention's (a column declared, retyped) is stale too. A stale or missing copy is
rebuilt whole, then swapped in atomically.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson

from ingestry.domain.conventions import Convention
from ingestry.services.ports import Storage
from ingestry.services.ports.analytics import CopyState, CopyStore, View, ViewColumn
from ingestry.services.query_sql import PAGE, record_pages, view_columns


def signature(columns: tuple[ViewColumn, ...], node: str) -> str:
    """What the copy was built from: the store (its node id: a project folder can be
    pointed at another database, and two stores' change marks can be equal) and the
    copy's schema. A change of either makes the copy stale."""
    spec = [(c.name, c.type.value if c.type else None, c.precision, c.scale) for c in columns]
    return hashlib.sha256(orjson.dumps([node, spec])).hexdigest()[:16]


class QueryCopies:
    """Fresh Parquet copies on demand, one per convention."""

    def __init__(
        self,
        storage: Storage,
        conventions: Mapping[str, Convention],
        copies: CopyStore,
        page: int = PAGE,
    ) -> None:
        self.storage = storage
        self.conventions = conventions
        self.copies = copies
        self.page = page
        #: what the last `fresh` call did per convention: "warm" or "built"
        self.last: dict[str, str] = {}

    def fresh(self, name: str) -> CopyState:
        """The convention's copy, rebuilt first when the store changed since it was
        taken (or it is missing, or its columns differ)."""
        convention = self.conventions[name]
        columns = view_columns(convention)
        wanted = signature(columns, self.storage.node_id())
        feed = self.storage.change_feed()
        state = self.copies.current(name)
        if (
            state is not None
            and state.signature == wanted
            and not feed.changed_since(name, state.mark)
        ):
            self.last[name] = "warm"
            return state
        # deleted records are left out by the scan (its query excludes tombstones), and a
        # delete is a change (a tombstone version in the feed), so it makes the copy stale
        mark = feed.copy_mark(name)  # before any row is read: a later change is unseen
        pages = record_pages(self.storage, convention, self.page, columns)
        built = self.copies.write(View(name, columns, pages), mark, wanted)
        self.last[name] = "built"
        return built
