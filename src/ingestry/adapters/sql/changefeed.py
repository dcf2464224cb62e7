"""The changes feed's reads, one implementation for both backends: they differ in the
parameter mark, the PostgreSQL-only snapshot clause and how a record row is read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ingestry.domain.conventions import Convention
from ingestry.domain.records import Record
from ingestry.services.ports import Change, ChangeCursor

Rows = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

#: PostgreSQL: only transactions that have all ended (see adapters.sql.changes)
SETTLED = " AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


class SqlChangeFeed:
    def __init__(
        self,
        rows: Rows,
        execute: Callable[[str, Sequence[Any]], None],
        mark: str,
        select_records: Callable[[Convention, str], str],
        record_from_row: Callable[[Convention, tuple[Any, ...]], Record],
        settled: str = "",
    ) -> None:
        self._rows, self._execute, self._mark, self._settled = rows, execute, mark, settled
        self._select, self._record = select_records, record_from_row

    def changes(
        self, after: ChangeCursor, limit: int, conventions: Sequence[str] | None
    ) -> list[Change]:
        m = self._mark
        where = f"(xid, seq) > ({m}, {m}){self._settled}"
        params: list[Any] = [after[0], after[1]]
        if conventions is not None:
            if not conventions:
                return []
            where += f" AND convention IN ({', '.join([m] * len(conventions))})"
            params += conventions
        sql = (
            "SELECT xid, seq, convention, record_id, version FROM record_changes"
            f" WHERE {where} ORDER BY xid, seq LIMIT {m}"
        )
        return [
            Change((int(x), int(s)), str(c), int(r), int(v))
            for x, s, c, r, v in self._rows(sql, [*params, limit])
        ]

    def fork_cursor(self, node_id: str, scope: str) -> str | None:
        m = self._mark
        found = self._rows(
            f"SELECT cursor FROM fork_cursors WHERE node_id = {m} AND scope = {m}", [node_id, scope]
        )
        return str(found[0][0]) if found else None

    def save_fork_cursor(self, node_id: str, scope: str, cursor: str, now: str) -> None:
        m = self._mark
        self._execute(
            "INSERT INTO fork_cursors (node_id, scope, cursor, updated_at)"
            f" VALUES ({m}, {m}, {m}, {m})"
            " ON CONFLICT (node_id, scope) DO UPDATE SET cursor = excluded.cursor,"
            " updated_at = excluded.updated_at",
            [node_id, scope, cursor, now],
        )

    def records_by_id(self, convention: Convention, ids: Sequence[int]) -> dict[int, Record]:
        if not ids:
            return {}
        marks = ", ".join([self._mark] * len(ids))
        sql = self._select(convention, f"WHERE id IN ({marks})").replace(
            "SELECT ", "SELECT id, ", 1
        )
        return {int(row[0]): self._record(convention, row[1:]) for row in self._rows(sql, ids)}
