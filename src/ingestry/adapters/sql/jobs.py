"""JobQueue on the `jobs` table (SQLite and PostgreSQL, one implementation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase, aware
from ingestry.adapters.sql.control_schema import jobs
from ingestry.domain.clock import utc_now
from ingestry.domain.jobs import JOB_STATUSES, LEASE_LOST, Job
from ingestry.services.ports import NewJob


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
                    return None
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
                return job_from_row(row)

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
