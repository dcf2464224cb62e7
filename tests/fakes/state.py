"""The fake database: plain dicts of plain rows, copied whole for each transaction."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestry.domain.conventions import Convention

Row = dict[str, Any]
Identity = tuple[str, str, str]  # (source_type, upstream, source_id)


def moment(text: str | None) -> datetime | None:
    """ISO text as a datetime (the fake compares times as the databases do, not as text)."""
    return None if text is None else datetime.fromisoformat(text)


@dataclass
class Tables:
    """Every table of the schema the ports reach, as rows keyed by id or identity."""

    raw: dict[int, Row] = field(default_factory=dict)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    receipts: dict[int, Row] = field(default_factory=dict)
    quarantine: dict[int, Row] = field(default_factory=dict)
    records: dict[str, dict[Identity, Row]] = field(default_factory=dict)
    history: list[Row] = field(default_factory=list)
    runs: dict[str, Row] = field(default_factory=dict)
    events: dict[int, Row] = field(default_factory=dict)
    holds: dict[int, Row] = field(default_factory=dict)
    audit: dict[int, Row] = field(default_factory=dict)
    hook_runs: dict[int, Row] = field(default_factory=dict)
    features: dict[tuple[str, int, str, str], Row] = field(default_factory=dict)
    erasures: dict[int, Any] = field(default_factory=dict)  # ErasureAudit by id
    #: record_deletions: Deletion by (srn, version)
    deletions: dict[tuple[str, int], Any] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    #: record_changes: (seq, convention, record id, version), seq order = commit order
    changes: list[tuple[int, str, int, int]] = field(default_factory=list)
    #: repeated_ids: per source, the far-apart ids of its last run (services.repeats)
    repeated: dict[str, set[str]] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """Ids as a sequence gives them: increasing, never reused (not even after a
        rollback, like PostgreSQL's; SQLite may reuse, and no contract depends on it)."""
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]


class Database:
    """One fake database: its tables and conventions, and one writer at a time."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.conventions: dict[str, Convention] = {}
        self.in_transaction = False
        self.node_id = f"node-{uuid.uuid4().hex}"  # as the node identity migration makes
        self.fork_cursors: dict[tuple[str, str], str] = {}

    @contextmanager
    def transaction(self) -> Iterator[Tables]:
        """All or nothing: the work runs on a copy that replaces the tables on success.
        Sequences keep what a rolled-back transaction took, as PostgreSQL's do."""
        if self.in_transaction:
            raise RuntimeError("the fake takes one transaction at a time (as BEGIN IMMEDIATE)")
        self.in_transaction = True
        working = copy.deepcopy(self.tables)
        try:
            yield working
        except BaseException:
            self.tables.ids = working.ids
            raise
        finally:
            self.in_transaction = False
        self.tables = working
