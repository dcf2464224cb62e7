"""The dashboard's paged reads (`services.ports.browse.Browse`), one implementation for
SQLite and PostgreSQL on the control plane's pooled engine.

Quarantine pages use the `(source, status)` index and go on by id (keyset); reason
counts group the matching entries only; jobs go newest first by `(created_at, id)`.
Timestamps are ISO text on SQLite and timestamptz on PostgreSQL, so parameters are
passed in the backend's own form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase
from ingestry.adapters.sql.control_schema import jobs
from ingestry.adapters.sql.intake import UNTAKEN, UNTAKEN_COUNT
from ingestry.adapters.sql.jobs import job_from_row
from ingestry.adapters.sql.lifecycle import HOOK_RUN_COLUMNS, hook_run
from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sql.rows import as_datetime, quarantine_entry
from ingestry.domain.clock import iso
from ingestry.domain.errors import InvalidCursorError
from ingestry.domain.features import HookRun
from ingestry.domain.jobs import Job
from ingestry.domain.payloads import QuarantineEntry
from ingestry.domain.records import parse_srn
from ingestry.services.ports import QuarantineFilter, QueueState, ReasonCount, RecordEvent

QUARANTINE_COLUMNS = "id, source, sha256, payload, line, origin, reason, received_at, status"


def events_of(convention: str) -> str:
    """SQLite: a record's events, newest first, through `(convention, record_id)`;
    `srn` keeps it exact, and a record that is gone is found with a NULL rowid."""
    return (
        "SELECT id, version, created_at, status, attempts, last_error FROM record_events"
        f' WHERE convention = :c AND record_id IS (SELECT id FROM "{table_name(convention)}"'
        " WHERE source_type = :t AND upstream = :u AND source_id = :i) AND srn = :srn"
        " ORDER BY id DESC LIMIT :limit"
    )


class SqlBrowse:
    def __init__(self, db: ControlDatabase) -> None:
        self.db = db

    def _moment(self, moment: datetime) -> Any:
        return iso(moment) if self.db.sqlite else moment

    def _where(self, where: QuarantineFilter) -> tuple[str, dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if where.sources is not None:
            if not where.sources:
                return " WHERE 1 = 0", params
            names = [f":s{i}" for i in range(len(where.sources))]
            clauses.append(f"source IN ({', '.join(names)})")
            params.update({f"s{i}": name for i, name in enumerate(where.sources)})
        if where.status is not None:
            clauses.append("status = :status")
            params["status"] = where.status
        if where.reason is not None:
            clauses.append("reason = :reason")
            params["reason"] = where.reason
        if where.since is not None:
            clauses.append("received_at >= :since")
            params["since"] = self._moment(where.since)
        if where.until is not None:
            clauses.append("received_at < :until")
            params["until"] = self._moment(where.until)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def quarantine_page(
        self, where: QuarantineFilter, after: int | None, limit: int
    ) -> list[QuarantineEntry]:
        sql, params = self._where(where)
        if after is not None:
            sql += (" AND" if sql else " WHERE") + " id > :after"
            params["after"] = after
        params["limit"] = limit
        query = f"SELECT {QUARANTINE_COLUMNS} FROM quarantine{sql} ORDER BY id LIMIT :limit"
        with self.db.read() as conn:
            return [quarantine_entry(tuple(r)) for r in conn.execute(sa.text(query), params)]

    def quarantine_ids(self, where: QuarantineFilter, limit: int) -> list[int]:
        sql, params = self._where(where)
        params["limit"] = limit
        query = f"SELECT id FROM quarantine{sql} ORDER BY id LIMIT :limit"
        with self.db.read() as conn:
            return [int(r[0]) for r in conn.execute(sa.text(query), params)]

    def quarantine_reasons(self, where: QuarantineFilter, limit: int) -> list[ReasonCount]:
        sql, params = self._where(where)
        params["limit"] = limit
        query = (
            f"SELECT source, reason, count(*) AS n FROM quarantine{sql}"
            " GROUP BY source, reason ORDER BY n DESC, source, reason LIMIT :limit"
        )
        with self.db.read() as conn:
            return [
                ReasonCount(str(s), str(r), int(n))
                for s, r, n in conn.execute(sa.text(query), params)
            ]

    def jobs_page(
        self, owner: str | None, status: str | None, after: str | None, limit: int
    ) -> list[Job]:
        query = jobs.select()
        if owner is not None:
            query = query.where(jobs.c.owner == owner)
        if status is not None:
            query = query.where(jobs.c.status == status)
        if after is not None:
            stamp, _, ident = after.partition("|")
            try:
                moment = datetime.fromisoformat(stamp)
            except ValueError:
                raise InvalidCursorError(f"invalid jobs cursor {after!r}") from None
            query = query.where(
                sa.or_(
                    jobs.c.created_at < moment,
                    sa.and_(jobs.c.created_at == moment, jobs.c.id < ident),
                )
            )
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        with self.db.read() as conn:
            return [job_from_row(row) for row in conn.execute(query)]

    def record_events(self, srn: str, limit: int) -> list[RecordEvent]:
        query = (
            "SELECT id, version, created_at, status, attempts, last_error FROM record_events"
            " WHERE srn = :srn ORDER BY id DESC LIMIT :limit"
        )
        params: dict[str, Any] = {"srn": srn, "limit": limit}
        if self.db.sqlite:
            # SQLite keys events by their record's rowid (migration 20261203_110000)
            try:
                convention, source_type, upstream, source_id = parse_srn(srn)
            except ValueError:
                return []  # events are of records: no other srn has any
            query = events_of(convention)
            params.update(c=convention, t=source_type, u=upstream, i=source_id)
        with self.db.read() as conn:
            rows = conn.execute(sa.text(query), params)
            taken = [
                RecordEvent(int(i), int(v), as_datetime(c), str(s), int(a), e)
                for i, v, c, s, a, e in rows
            ]
            if not self.db.sqlite:
                return taken
            return (self._untaken(conn, srn) + taken)[:limit]

    def _untaken(self, conn: sa.Connection, srn: str) -> list[RecordEvent]:
        """SQLite: the record's changes not yet taken into the outbox (pending events
        without an id yet: `adapters/sql/intake.py`), newest first."""
        try:
            convention, source_type, upstream, source_id = parse_srn(srn)
        except ValueError:
            return []
        if not sa.inspect(conn).has_table(table_name(convention)):
            return []
        record = conn.execute(
            sa.text(
                f'SELECT id, updated_at FROM "{table_name(convention)}"'
                " WHERE source_type = :t AND upstream = :u AND source_id = :i"
            ),
            {"t": source_type, "u": upstream, "i": source_id},
        ).first()
        if record is None:
            return []
        versions = conn.execute(
            sa.text(
                "SELECT c.version FROM record_changes c WHERE c.convention = :c"
                f" AND c.record_id = :r AND {UNTAKEN}"
                " ORDER BY c.version DESC"
            ),
            {"c": convention, "r": record[0]},
        )
        at = as_datetime(record[1])
        return [RecordEvent(0, int(v), at, "pending", 0, None) for (v,) in versions]

    def record_hook_runs(self, srn: str, limit: int) -> list[HookRun]:
        query = (
            f"SELECT {HOOK_RUN_COLUMNS} FROM hook_runs WHERE srn = :srn"
            " ORDER BY id DESC LIMIT :limit"
        )
        with self.db.read() as conn:
            rows = conn.execute(sa.text(query), {"srn": srn, "limit": limit})
            return [hook_run(tuple(r)) for r in rows]

    def queue_state(self, lease_limit: int) -> QueueState:
        events = (
            "SELECT"
            " sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END),"
            " sum(CASE WHEN status = 'pending' AND lease_owner IS NOT NULL THEN 1 ELSE 0 END),"
            " sum(CASE WHEN status = 'dead' THEN 1 ELSE 0 END)"
            " FROM record_events"
        )
        leased = (
            jobs.select()
            .where(jobs.c.status == "running")
            .order_by(jobs.c.created_at)
            .limit(lease_limit)
        )
        counts = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        with self.db.read() as conn:
            pending, leased_events, dead = conn.execute(sa.text(events)).one()
            if self.db.sqlite:  # and the changes not yet taken in
                pending = int(pending or 0) + int(conn.execute(sa.text(UNTAKEN_COUNT)).scalar_one())
            return QueueState(
                jobs={str(s): int(n) for s, n in conn.execute(counts)},
                leased_jobs=[job_from_row(row) for row in conn.execute(leased)],
                events_pending=int(pending or 0),
                events_leased=int(leased_events or 0),
                events_dead=int(dead or 0),
            )
