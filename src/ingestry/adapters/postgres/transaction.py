"""One write transaction that survives deadlocks and serialization failures.

The services write a batch through a `StorageSession` (a context manager: several calls,
then commit), so a failed batch cannot simply be handed back to the caller to run
again. Instead the transaction keeps a log of the calls made in it; when one fails
with a retryable SQLSTATE (40001, 40P01), the whole transaction is rolled back and the
logged calls are run again in a new one, then the failed call, a bounded number of
times. Every call is idempotent against the database (raw rows dedupe, records upsert
by content), so the replayed transaction writes exactly what an undisturbed one would.

A call may itself make calls (a unit: `PostgresSession.unit`, the ingest of one batch):
those are not logged or retried on their own; the unit is, so a replay runs the unit
again and whatever it computes from the answers (the batch's counts) follows what
the replay wrote. A count a logged call already returned to the service cannot be
taken back: if a replayed call outside a unit answers differently (the rival writer
committed some of the same rows first), a warning says so.

The transaction is begun lazily, on the first call that needs it, so work that must
run outside it (creating a partition) can happen first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from ingestry.adapters.postgres.retry import MAX_ATTEMPTS, is_retryable, pause
from ingestry.adapters.postgres.timeouts import LOCK_TIMEOUT_SQLSTATE, lock_timeout_hint
from ingestry.domain.errors import StorageError

T = TypeVar("T")

log = logging.getLogger(__name__)

#: A transaction that logged more rows than this stops being replayable (a strict run
#: over a huge file): keeping every batch in memory would defeat streaming.
REPLAY_LIMIT_ROWS = 200_000


class Transaction:
    """Explicit BEGIN / COMMIT on an autocommit connection, with replay on retry."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        on_begin: Callable[[], None],
        on_end: Callable[[bool], None],
        begin_sql: str = "BEGIN",
    ) -> None:
        self.conn = conn
        self._begin_sql = begin_sql
        self.begun = False
        self._on_begin = on_begin
        self._on_end = on_end
        self._log: list[tuple[Callable[[], Any], Any]] = []
        self._logged_rows = 0
        self._replayable = True
        self._depth = 0  # > 0 while a call (a unit) runs: its own calls are not logged
        self._unit_rows = 0

    def begin(self) -> None:
        if not self.begun:
            self.conn.execute(self._begin_sql)
            self.begun = True
            self._on_begin()

    def run(self, call: Callable[[], T], rows: int = 0) -> T:
        """Run `call` inside the transaction, replaying the transaction on a retryable
        failure; `rows` is how much data the call holds (for the replay limit)."""
        if self._depth:  # inside a unit: the unit is what gets logged and retried
            self._unit_rows += rows
            return call()
        attempt = 1
        while True:
            self._unit_rows = 0  # what this attempt of the call (a unit) holds
            try:
                result = self._nested(call)
                break
            except psycopg.Error as exc:
                attempt = self._recover(exc, attempt)
        self._logged_rows += rows + self._unit_rows
        if self._logged_rows > REPLAY_LIMIT_ROWS:
            self._replayable = False
            self._log.clear()
        elif self._replayable:
            self._log.append((call, result))
        return result

    def commit(self) -> None:
        attempt = 1
        while self.begun:
            try:
                self.conn.execute("COMMIT")
                self.begun = False
            except psycopg.Error as exc:
                attempt = self._recover(exc, attempt)
        self._forget()
        self._on_end(True)

    def rollback(self) -> None:
        """End the transaction for good (the log of calls is dropped)."""
        self._abort()
        self._forget()

    def _forget(self) -> None:
        """Drop the log: its calls close over the session, which holds this transaction,
        a reference cycle that would keep every batch's rows alive while an ingest
        runs with the cyclic collector paused (3 GB at 1,000,000 rows)."""
        self._log.clear()
        self._logged_rows = 0

    def _abort(self) -> None:
        if self.begun:
            self.begun = False
            try:
                self.conn.execute("ROLLBACK")
            except psycopg.Error:
                log.debug("rollback failed", exc_info=True)
        self._on_end(False)

    def _recover(self, exc: psycopg.Error, attempt: int) -> int:
        """Roll back, wait, re-run the logged calls in a new transaction. Returns the
        number of the attempt now under way; raises when retrying is not an option."""
        while True:
            if not is_retryable(exc) or not self._replayable or attempt >= MAX_ATTEMPTS:
                self.rollback()
                raise translate(exc, attempt) from exc
            log.info("retrying a transaction after %s (attempt %d)", exc.sqlstate, attempt + 1)
            self._abort()  # keeps the log: it is what the replay runs
            pause(attempt)
            attempt += 1
            try:
                self._replay()
                return attempt
            except psycopg.Error as again:
                exc = again

    def _nested(self, call: Callable[[], T]) -> T:
        self._depth += 1
        try:
            return call()
        finally:
            self._depth -= 1

    def _replay(self) -> None:
        self.begin()
        for call, before in self._log:
            after = self._nested(call)
            if after != before:
                log.warning(
                    "a retried transaction answered differently on replay (%r, then %r): "
                    "the data written is right, the counts reported for this batch are not",
                    before,
                    after,
                )


def translate(exc: psycopg.Error, attempt: int = 1) -> StorageError:
    """A database failure in words for the user (the psycopg error stays the cause)."""
    if exc.sqlstate is None:
        return StorageError(f"PostgreSQL connection failed: {exc}")
    if exc.sqlstate == LOCK_TIMEOUT_SQLSTATE:
        return StorageError(f"PostgreSQL gave up waiting for a lock: {lock_timeout_hint()}")
    if is_retryable(exc):
        return StorageError(
            f"PostgreSQL kept failing with {exc.sqlstate} after {attempt} attempts: {exc}"
        )
    return StorageError(f"PostgreSQL refused the write ({exc.sqlstate}): {exc}")
