"""How long a PostgreSQL session may wait on a lock or sit idle in a transaction.

Without limits an ingest waits forever behind a session that holds its locks: a killed
ingest whose connection lingered (issue 14: blocked for 13 minutes) or a client left
`idle in transaction`. Every session of ours sets `lock_timeout` (a wait that runs out
fails the batch with a clear error, nothing half-written) and
`idle_in_transaction_session_timeout` (the server ends a session of ours that stops
talking mid-transaction, so it cannot block others either). 12-factor overrides:
INGESTRY_PG_LOCK_TIMEOUT and INGESTRY_PG_IDLE_TIMEOUT, in seconds, `0` = no limit.

Two minutes of lock wait covers a rival ingest's batch (seconds) with a wide margin;
only a rival holding one transaction for the whole run (`--strict` on a large file)
waits longer, and the error then says which setting to raise.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from ingestry.domain.errors import ConfigError, StatementTimeoutError

log = logging.getLogger(__name__)

LOCK_ENV = "INGESTRY_PG_LOCK_TIMEOUT"
IDLE_ENV = "INGESTRY_PG_IDLE_TIMEOUT"

#: lock_not_available: a lock wait ran out (lock_timeout, or NOWAIT).
LOCK_TIMEOUT_SQLSTATE = "55P03"


@dataclass(frozen=True)
class SessionTimeouts:
    """Seconds; 0 means no limit (the server's default)."""

    lock: float = 120.0
    idle_in_transaction: float = 300.0

    def statements(self) -> list[str]:
        """The SETs a new session runs (milliseconds, whole numbers)."""
        return [
            f"SET lock_timeout = {int(self.lock * 1000)}",
            f"SET idle_in_transaction_session_timeout = {int(self.idle_in_transaction * 1000)}",
        ]

    def apply(self, conn: Any) -> None:
        """Set both on a DB-API or psycopg connection (one with `execute` or a cursor)."""
        for sql in self.statements():
            conn.execute(sql)


def ensure_durable(conn: Any) -> None:
    """Acknowledged writes must survive a crash. `synchronous_commit = off` (a server or
    role default) acknowledges a commit before its WAL is flushed: this session turns
    it back on, loudly. `fsync = off` cannot be undone per session: a loud warning."""
    (sync,) = conn.execute("SHOW synchronous_commit").fetchone()
    if sync == "off":
        conn.execute("SET synchronous_commit = on")
        log.warning(
            "PostgreSQL has synchronous_commit = off (server, database or role default): "
            "ingestry turned it on for its own sessions, since an acknowledged write "
            "could otherwise be lost in a server crash"
        )
    (fsync,) = conn.execute("SHOW fsync").fetchone()
    if fsync == "off":
        log.warning(
            "PostgreSQL runs with fsync = off: a server crash can lose or corrupt data "
            "ingestry reported as written; turn fsync on in postgresql.conf"
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # negative or NaN
        raise ConfigError(f"{name} must be a number of seconds from 0 (0 = no limit), not '{raw}'")
    return value


def session_timeouts(env: Mapping[str, str] | None = None) -> SessionTimeouts:
    """The timeouts from the environment, or the defaults."""
    env = os.environ if env is None else env
    default = SessionTimeouts()
    return SessionTimeouts(
        lock=_seconds(env, LOCK_ENV, default.lock),
        idle_in_transaction=_seconds(env, IDLE_ENV, default.idle_in_transaction),
    )


def lock_timeout_hint(timeouts: SessionTimeouts | None = None) -> str:
    """What the user reads after a lock wait ran out."""
    waited = (timeouts or session_timeouts()).lock
    return (
        f"waited {waited:g}s for a lock another session holds (another ingest of the same "
        f"data, or a session left idle in a transaction: see pg_stat_activity); retry "
        f"when it is done, or raise {LOCK_ENV} (seconds, 0 = wait forever)"
    )


#: query_canceled: statement_timeout ran out (or a cancel request).
QUERY_CANCELED_SQLSTATE = "57014"


@contextmanager
def statement_limit(conn: Any, seconds: float, setting: str) -> Iterator[None]:
    """`statement_timeout` on `conn` (autocommit: a plain SET, undone on the way out)
    for the block; a cancelled statement becomes StatementTimeoutError naming `setting`."""
    if seconds <= 0:
        yield
        return
    conn.execute(f"SET statement_timeout = {max(1, int(seconds * 1000))}")
    try:
        yield
    except Exception as exc:
        if _canceled(exc):
            raise StatementTimeoutError(seconds, setting) from exc
        raise
    finally:
        with suppress(Exception):  # a broken connection is reported by the next use
            conn.execute("SET statement_timeout = 0")


def _canceled(exc: BaseException | None) -> bool:
    while exc is not None:
        if getattr(exc, "sqlstate", None) == QUERY_CANCELED_SQLSTATE:
            return True
        if "canceling statement due to statement timeout" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
