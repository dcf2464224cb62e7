"""The control plane's pooled SQLAlchemy engine on PostgreSQL.

Control transactions (a job claim, a heartbeat, an idempotency claim) are a few short
statements, so a control session idle inside one for `CONTROL_IDLE_SECONDS` belongs to
a stalled process: a worker stopped (SIGSTOP) between its heartbeat's UPDATE and its
COMMIT kept the job's row locked, and the claim's `FOR UPDATE SKIP LOCKED` then skipped
the job, so no other worker could take its expired lease over (the stopped-inside-COPY
test caught it under load). The server ends such a session; the stalled process's next
control call fails and its pool reconnects (pre-ping). Lock waits use the data
sessions' `INGESTRY_PG_LOCK_TIMEOUT`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ingestry.adapters.postgres import toast
from ingestry.adapters.postgres.timeouts import session_timeouts
from ingestry.adapters.postgres.url import sqlalchemy_url

#: The longest a control session of ours may sit idle inside a transaction.
CONTROL_IDLE_SECONDS = 10


def control_engine(url: str) -> sa.Engine:
    """Pooled, pre-pinged (a server restart must not fail the next request)."""
    engine = sa.create_engine(
        sqlalchemy_url(url),
        pool_size=8,
        max_overflow=8,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "application_name": "ingestry-control"},
    )
    idle = session_timeouts().idle_in_transaction
    limit = CONTROL_IDLE_SECONDS if idle == 0 else min(idle, CONTROL_IDLE_SECONDS)
    lock = session_timeouts().lock

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET idle_in_transaction_session_timeout = {int(limit * 1000)}")
            cur.execute(f"SET lock_timeout = {int(lock * 1000)}")
            toast.apply(cur)  # harvested pages' bodies go through here
        dbapi_conn.commit()

    return engine
