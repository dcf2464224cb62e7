"""The record lifecycle on SQLite: outbox, conditional updates, hook runs, features.

Writes run in the storage's `BEGIN IMMEDIATE` transactions, so a claim (select the
due events, lease them) is atomic against every other writer, in this process or
another: two dispatchers never lease the same event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from ingestry.adapters.sql import lifecycle as sql
from ingestry.adapters.sql.conventions import table_name
from ingestry.adapters.sqlite import outbox
from ingestry.adapters.sqlite.session import SQLiteSession
from ingestry.adapters.sqlite.statements import RecordStatements
from ingestry.domain.clock import iso, utc_now
from ingestry.domain.conventions import Convention
from ingestry.domain.errors import ConflictError, RecordNotFoundError
from ingestry.domain.events import DeadEvent
from ingestry.domain.features import Feature, HookRun
from ingestry.domain.records import parse_srn, spell_srn
from ingestry.services.ports import (
    ClaimedEvent,
    FeatureRow,
    HookRunRow,
    RecordRow,
)

_CLAIM = (
    "SELECT id, srn, convention, version, created_at, attempts FROM record_events AS e"
    " WHERE status = 'pending' AND (available_at IS NULL OR available_at <= ?)"
    " AND (leased_until IS NULL OR leased_until <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM record_events AS p"
    "  WHERE p.convention = e.convention AND p.record_id IS e.record_id AND p.srn = e.srn"
    "  AND p.id < e.id AND p.status = 'pending')"
    " ORDER BY id LIMIT ?"
)
_INSERT_FEATURE = (
    "INSERT INTO record_features (srn, version, hook, name, convention, value, produced_at)"
    " VALUES (?,?,?,?,?,?,?) ON CONFLICT (srn, version, hook, name) DO UPDATE SET"
    " value = excluded.value, produced_at = excluded.produced_at"
)
_CHUNK = 900
#: intake steps one claim may take when what it took in has nothing due (~25 ms each)
_INTAKE_STEPS = 8


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SQLiteLifecycleSession:
    """LifecycleSession on the connection of one storage transaction."""

    def __init__(self, conn: sqlite3.Connection, updates: dict[str, _UpdateSQL]) -> None:
        self.conn = conn
        self._updates = updates

    def update_record(
        self, convention: Convention, row: RecordRow, expected_version: int, now: str
    ) -> int:
        statements = self._update_sql(convention)
        identity = (row[0], row[9], row[1])
        srn = spell_srn(convention.name, *identity)
        content_hash = row[5]
        guard = (*identity, expected_version, content_hash)
        self.conn.execute(statements.history, (srn, now, *guard))
        updated = self.conn.execute(
            statements.update, (row[4], content_hash, row[6], now, *row[8], *guard)
        ).rowcount
        if updated:  # its event: the change the update trigger wrote
            return expected_version + 1
        found = self.conn.execute(statements.current, identity).fetchone()
        if found is None:
            raise RecordNotFoundError(f"no record {srn}")
        if found[0] != expected_version:
            raise ConflictError(srn, expected_version, found[0])
        return int(found[0])  # same content: nothing to write

    def _update_sql(self, convention: Convention) -> _UpdateSQL:
        cached = self._updates.get(convention.name)
        if cached is None or cached.columns != convention.column_names:
            cached = _UpdateSQL.of(convention)
            self._updates[convention.name] = cached
        return cached

    def take_in(self, now: str, limit: int) -> int:
        return outbox.take_in(self.conn, now, limit)

    def claim_events(
        self, owner: str, now: str, lease_until: str, limit: int
    ) -> list[ClaimedEvent]:
        taken = outbox.take_in(self.conn, now)
        rows = self.conn.execute(_CLAIM, (now, now, limit)).fetchall()
        steps = 1
        # nothing due among what was taken in (erased records, or events waiting behind
        # leased ones): take more in, a bounded number of steps (the claim holds the
        # write lock; the next claim goes on)
        while not rows and taken and steps < _INTAKE_STEPS:
            taken = outbox.take_in(self.conn, now)
            rows = self.conn.execute(_CLAIM, (now, now, limit)).fetchall()
            steps += 1
        claimed = [ClaimedEvent(*row) for row in rows]
        for chunk in _chunks([c.id for c in claimed]):
            self.conn.execute(
                "UPDATE record_events SET lease_owner = ?, leased_until = ?"
                f" WHERE id IN ({_marks(len(chunk))})",
                (owner, lease_until, *chunk),
            )
        return claimed

    def renew_leases(self, ids: Sequence[int], owner: str, lease_until: str) -> set[int]:
        kept: set[int] = set()
        for chunk in _chunks(ids):
            marks = _marks(len(chunk))
            self.conn.execute(
                "UPDATE record_events SET leased_until = ?"
                f" WHERE id IN ({marks}) AND lease_owner = ?",
                (lease_until, *chunk, owner),
            )
            kept.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT id FROM record_events WHERE id IN ({marks}) AND lease_owner = ?"
                    " AND status = 'pending'",
                    (*chunk, owner),
                )
            )
        return kept

    def ack_events(self, ids: Sequence[int], owner: str | None = None) -> None:
        guard, extra = ("", ()) if owner is None else (sql.OWNED.format(p="?"), (owner,))
        for chunk in _chunks(ids):
            self.conn.execute(sql.ACK.format(ids=_marks(len(chunk))) + guard, (*chunk, *extra))

    def fail_event(
        self, event_id: int, error: str, now: str, retry_at: str | None, owner: str | None = None
    ) -> None:
        guard, extra = ("", ()) if owner is None else (sql.OWNED.format(p="?"), (owner,))
        self.conn.execute(
            "UPDATE record_events SET attempts = attempts + 1, last_error = ?, failed_at = ?,"
            " available_at = ?, status = ?, lease_owner = NULL, leased_until = NULL"
            " WHERE id = ?" + guard,
            (error, now, retry_at, "pending" if retry_at else "dead", event_id, *extra),
        )

    def release_events(self, ids: Sequence[int], owner: str) -> None:
        for chunk in _chunks(ids):
            self.conn.execute(sql.RELEASE.format(ids=_marks(len(chunk)), p="?"), (*chunk, owner))

    def retry_events(self, ids: Sequence[int] | None) -> int:
        reset = (
            "UPDATE record_events SET status = 'pending', attempts = 0, available_at = NULL,"
            " lease_owner = NULL, leased_until = NULL WHERE status = 'dead'"
        )
        if ids is None:
            return int(self.conn.execute(reset).rowcount)
        return sum(
            self.conn.execute(f"{reset} AND id IN ({_marks(len(c))})", tuple(c)).rowcount
            for c in _chunks(ids)
        )

    def record_hook_run(self, run: HookRunRow, features: Sequence[FeatureRow]) -> None:
        produced = run[11]
        if features:
            self.conn.executemany(_INSERT_FEATURE, [(*f, produced) for f in features])
        self.conn.execute(sql.INSERT_HOOK_RUN.format(marks=_marks(len(run))), run)


class _UpdateSQL:
    """Conditional update of one convention's records: history first, then the row,
    both guarded by `version = expected AND content_hash <> new` (BEGIN IMMEDIATE
    makes the pair atomic)."""

    def __init__(self, columns: tuple[str, ...], history: str, update: str, current: str):
        self.columns = columns
        self.history = history
        self.update = update
        self.current = current

    @classmethod
    def of(cls, convention: Convention) -> _UpdateSQL:
        table = f'"{table_name(convention.name)}"'
        guard = " AND version = ? AND content_hash <> ?"
        # RecordStatements.history ends in `WHERE <the identity>`
        history = RecordStatements.of(convention).history + guard
        sets = "".join(f', "{c}" = ?' for c in convention.column_names)
        where = "WHERE source_type = ? AND upstream = ? AND source_id = ?"
        update = (
            f"UPDATE {table} SET metadata = ?, content_hash = ?, extractor_version = ?,"
            f" version = version + 1, updated_at = ?{sets} {where}{guard}"
        )
        current = f"SELECT version FROM {table} {where}"
        return cls(convention.column_names, history, update, current)


class SQLiteLifecycle:
    """LifecycleStorage on a SQLiteStorage: writes in its sessions (`open_session` is
    the storage's `session`), reads on its connection."""

    def __init__(
        self,
        open_session: Callable[[], AbstractContextManager[SQLiteSession]],
        conn: sqlite3.Connection,
    ) -> None:
        self._open_session = open_session
        self._conn = conn
        self._updates: dict[str, _UpdateSQL] = {}

    @contextmanager
    def session(self) -> Iterator[SQLiteLifecycleSession]:
        with self._open_session() as session:
            yield SQLiteLifecycleSession(session.conn, self._updates)

    def event_sources(
        self, convention: Convention, events: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], str]:
        wanted: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
        for srn, version in events:
            _, source_type, upstream, source_id = parse_srn(srn)
            wanted.setdefault((source_type, upstream, source_id), []).append((srn, version))
        by_type: dict[tuple[str, str], list[str]] = {}
        for source_type, upstream, source_id in wanted:
            by_type.setdefault((source_type, upstream), []).append(source_id)
        table = f'"{table_name(convention.name)}"'
        found: dict[tuple[str, int], str] = {}
        for (source_type, upstream), ids in by_type.items():
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                for source_id, version, source in self._conn.execute(
                    f"SELECT source_id, version, source FROM {table} WHERE source_type = ?"
                    f" AND upstream = ? AND source_id IN ({_marks(len(chunk))})",
                    (source_type, upstream, *chunk),
                ):
                    for srn, wanted_version in wanted[(source_type, upstream, source_id)]:
                        if wanted_version == version:
                            found[(srn, version)] = source
        for key in events:
            if key not in found:
                row = self._conn.execute(
                    "SELECT source FROM record_versions WHERE srn = ? AND version = ?", key
                ).fetchone()
                if row is not None:
                    found[key] = row[0]
        return found

    def dead_events(self) -> list[DeadEvent]:
        return [sql.dead_event(r) for r in self._conn.execute(sql.DEAD_SELECT)]

    def take_in(self, limit: int) -> int:
        with self.session() as session:
            return session.take_in(iso(utc_now()), limit)

    def pending_events(self) -> int:
        taken = int(self._conn.execute(sql.PENDING_COUNT).fetchone()[0])
        return taken + outbox.untaken(self._conn)

    def oldest_pending_at(self) -> datetime | None:
        values = [
            v
            for v in (
                self._conn.execute(sql.OLDEST_PENDING).fetchone()[0],
                outbox.oldest_untaken_at(self._conn),
            )
            if v is not None
        ]
        return datetime.fromisoformat(str(min(values))) if values else None

    def features(self, srn: str) -> list[Feature]:
        rows = self._conn.execute(sql.FEATURES_SELECT.format(p="?"), (srn,))
        return [sql.feature(r) for r in rows]

    def hook_runs(self, failed_only: bool, limit: int | None) -> list[HookRun]:
        rows = self._conn.execute(sql.hook_runs_select(failed_only, limit)).fetchall()
        return [sql.hook_run(r) for r in reversed(rows)]

    def hook_succeeded(self, srn: str, version: int, hook: str) -> bool:
        query = sql.HOOK_SUCCEEDED.format(p="?")
        return self._conn.execute(query, (srn, version, hook)).fetchone() is not None
