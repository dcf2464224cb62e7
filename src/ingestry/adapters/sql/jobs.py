"""JobQueue on the `jobs` table (SQLite and PostgreSQL, one implementation).

Taking over an expired lease on PostgreSQL also ends the old owner's data sessions: a
worker stopped (SIGSTOP, a frozen VM) in the middle of a batch keeps that batch's row
locks, and when it was stopped inside a COPY its session is `active` (the server waits
for the rest of the data), which neither `idle_in_transaction_session_timeout` nor a
`statement_timeout` between statements ends. A job worker's data sessions carry
`application_name` = `lease_session_name(worker)` (see `bootstrap.lease_owner_settings`),
so the new owner finds them in `pg_stat_activity` and ends them with
`pg_terminate_backend`: the stopped batch rolls back, its locks go, and the re-run
proceeds at once. Ending another role's session needs that role or membership of
`pg_signal_backend`; without it the takeover logs a warning and waits, as before, for
the old owner's locks (docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase, aware
from ingestry.adapters.sql.control_schema import jobs
from ingestry.domain.clock import utc_now
from ingestry.domain.errors import StorageError
from ingestry.domain.jobs import JOB_STATUSES, LEASE_LOST, Job
from ingestry.services.ports import NewJob

log = logging.getLogger("ingestry.worker")

#: PostgreSQL keeps the first 63 bytes of an application_name (NAMEDATALEN - 1).
_NAME_BYTES = 63
LEASE_PREFIX = "ingestry-lease:"

#: The old owner's data sessions (never our own, never the control pool's).
_END_SESSIONS = sa.text(
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE application_name = :name AND datname = current_database() "
    "AND pid <> pg_backend_pid()"
)


def lease_session_name(worker: str) -> str:
    """The `application_name` of a job worker's data sessions: the worker id when it
    fits in PostgreSQL's 63 bytes (readable in pg_stat_activity), else a digest of it
    (never a truncation, which could name another worker)."""
    name = LEASE_PREFIX + worker
    if len(name.encode()) <= _NAME_BYTES and name.isascii() and name.isprintable():
        return name
    return LEASE_PREFIX + hashlib.sha256(worker.encode()).hexdigest()[:32]


def job_from_row(row: sa.Row[Any]) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        kind=m["kind"],
        params=dict(m["params"] or {}),
        status=m["status"],
        owner=m["owner"],
        attempts=m["attempts"],
        max_attempts=m["max_attempts"],
        created_at=aware(m["created_at"]),  # type: ignore[arg-type]
        updated_at=aware(m["updated_at"]),  # type: ignore[arg-type]
        idempotency_key=m["idempotency_key"],
        lease_owner=m["lease_owner"],
        lease_expires=m["lease_expires"],
        progress=m["progress"],
        result=m["result"],
        error=m["error"],
        started_at=aware(m["started_at"]),
        finished_at=aware(m["finished_at"]),
    )


class SqlJobQueue:
    def __init__(self, db: ControlDatabase) -> None:
        self.db = db

    def submit(self, job: NewJob) -> tuple[Job, bool]:
        now = utc_now()
        for _ in range(3):
            try:
                with self.db.write() as conn:
                    if job.idempotency_key is not None:
                        found = self._by_key(conn, job.owner, job.idempotency_key)
                        if found is not None:
                            return found, False
                    conn.execute(
                        jobs.insert().values(
                            id=job.id, kind=job.kind, params=dict(job.params), status="queued",
                            owner=job.owner, idempotency_key=job.idempotency_key, attempts=0,
                            max_attempts=job.max_attempts, created_at=now, updated_at=now,
                        )
                    )  # fmt: skip
                    row = conn.execute(jobs.select().where(jobs.c.id == job.id)).one()
                    return job_from_row(row), True
            except sa.exc.IntegrityError:
                continue  # a concurrent submit with the same key won: read its job
        raise RuntimeError("job submit kept conflicting")  # pragma: no cover

    def _by_key(self, conn: sa.Connection, owner: str, key: str) -> Job | None:
        row = conn.execute(
            jobs.select().where(jobs.c.owner == owner, jobs.c.idempotency_key == key)
        ).first()
        return job_from_row(row) if row is not None else None

    def get(self, job_id: str) -> Job | None:
        with self.db.read() as conn:
            row = conn.execute(jobs.select().where(jobs.c.id == job_id)).first()
        return job_from_row(row) if row is not None else None

    def claim(self, worker: str, lease_seconds: float, now: float) -> Job | None:
        claimed, taken_from = self._claim(worker, lease_seconds, now)
        # never our own: a restarted loop keeps its id and may take back its own job
        if taken_from is not None and taken_from != worker and not self.db.sqlite:
            self._end_sessions(taken_from, claimed)
        return claimed

    def _claim(
        self, worker: str, lease_seconds: float, now: float
    ) -> tuple[Job | None, str | None]:
        """The claimed job, and the worker whose expired lease it took over (if any)."""
        with self.db.write() as conn:
            while True:
                query = (
                    jobs.select()
                    .where(
                        sa.or_(
                            jobs.c.status == "queued",
                            sa.and_(jobs.c.status == "running", jobs.c.lease_expires < now),
                        )
                    )
                    .order_by(jobs.c.created_at, jobs.c.id)
                    .limit(1)
                )
                if not self.db.sqlite:
                    query = query.with_for_update(skip_locked=True)
                row = conn.execute(query).first()
                if row is None:
                    return None, None
                found = job_from_row(row)
                stamp = utc_now()
                error: str | None
                if found.status == "running":
                    lost = (
                        f"attempt {found.attempts} of {found.max_attempts} lost: worker "
                        f"{found.lease_owner} {LEASE_LOST}"
                    )
                    if found.attempts >= found.max_attempts:
                        conn.execute(
                            jobs.update().where(jobs.c.id == found.id).values(
                                status="failed", error=f"gave up: {lost}", lease_owner=None,
                                lease_expires=None, updated_at=stamp, finished_at=stamp,
                            )
                        )  # fmt: skip
                        continue
                    error = lost
                else:
                    error = found.error
                conn.execute(
                    jobs.update().where(jobs.c.id == found.id).values(
                        status="running", attempts=found.attempts + 1, lease_owner=worker,
                        lease_expires=now + lease_seconds, error=error, updated_at=stamp,
                        started_at=found.started_at or stamp,
                    )
                )  # fmt: skip
                row = conn.execute(jobs.select().where(jobs.c.id == found.id)).one()
                taken_from = found.lease_owner if found.status == "running" else None
                return job_from_row(row), taken_from

    def _end_sessions(self, owner: str, job: Job | None) -> None:
        """End the data sessions of a worker whose lease we took over (see the module
        docstring); a missing privilege is a warning, not a failed claim."""
        name = lease_session_name(owner)
        try:
            with self.db.write() as conn:
                ended = conn.execute(_END_SESSIONS, {"name": name}).scalar() or 0
        except (StorageError, sa.exc.DBAPIError) as exc:
            log.warning(
                "took over job %s from %s but could not end its sessions (%s): grant this "
                "role pg_signal_backend, or run every worker as the same role; until that "
                "worker dies or resumes, its row locks may hold this attempt up",
                job.id if job else "?", owner, exc,
            )  # fmt: skip
            return
        if ended:
            log.warning(
                "took over job %s from %s (its lease expired): ended %d of its PostgreSQL "
                "sessions, rolling back its unfinished batch",
                job.id if job else "?", owner, ended,
            )  # fmt: skip

    def _mine(self, job_id: str, worker: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            jobs.c.id == job_id, jobs.c.lease_owner == worker, jobs.c.status == "running"
        )

    def _update(self, job_id: str, worker: str, **values: Any) -> bool:
        with self.db.write() as conn:
            done = conn.execute(
                jobs.update()
                .where(self._mine(job_id, worker))
                .values(updated_at=utc_now(), **values)
            )
            return bool(done.rowcount == 1)

    def heartbeat(
        self,
        job_id: str,
        worker: str,
        lease_seconds: float,
        now: float,
        progress: Mapping[str, Any] | None,
    ) -> bool:
        values: dict[str, Any] = {"lease_expires": now + lease_seconds}
        if progress is not None:
            values["progress"] = dict(progress)
        return self._update(job_id, worker, **values)

    def complete(self, job_id: str, worker: str, result: Mapping[str, Any]) -> bool:
        return self._update(
            job_id, worker, status="succeeded", result=dict(result), lease_owner=None,
            lease_expires=None, finished_at=utc_now(),
        )  # fmt: skip

    def fail(self, job_id: str, worker: str, error: str, *, retry: bool) -> bool:
        with self.db.write() as conn:
            row = conn.execute(jobs.select().where(self._mine(job_id, worker))).first()
            if row is None:
                return False
            job = job_from_row(row)
            stamp = utc_now()
            again = retry and job.attempts < job.max_attempts
            conn.execute(
                jobs.update().where(jobs.c.id == job_id).values(
                    status="queued" if again else "failed", error=error, lease_owner=None,
                    lease_expires=None, updated_at=stamp, finished_at=None if again else stamp,
                )
            )  # fmt: skip
            return True

    def release(self, job_id: str, worker: str) -> bool:
        return self._update(
            job_id, worker, status="queued", attempts=jobs.c.attempts - 1, lease_owner=None,
            lease_expires=None,
        )  # fmt: skip

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(JOB_STATUSES, 0)
        with self.db.read() as conn:
            for status, count in conn.execute(
                sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
            ):
                out[status] = int(count)
        return out
