"""Statement timeouts on SQLite: a progress-handler interrupt.

SQLite has no `statement_timeout`. A trace callback notes when each statement starts,
a progress handler (every PROGRESS_STEPS virtual-machine steps, ~1 ms) returns non-zero
once the statement has run past the limit, and SQLite interrupts it
(`OperationalError: interrupted`; the transaction is rolled back by its session). The
interrupt is then translated to StatementTimeoutError naming the setting.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ingestry.domain.errors import StatementTimeoutError

#: Steps between deadline checks (the check is a clock read: far below 1% of a query).
PROGRESS_STEPS = 20_000


@contextmanager
def statement_limit(conn: sqlite3.Connection, seconds: float, setting: str) -> Iterator[None]:
    """Statements run on `conn` inside the block are interrupted after `seconds`."""
    if seconds <= 0:
        yield
        return
    started = [time.monotonic()]
    hit = [False]

    def on_statement(_sql: str) -> None:
        started[0] = time.monotonic()

    def check() -> int:
        if time.monotonic() - started[0] > seconds:
            hit[0] = True
            return 1
        return 0

    conn.set_trace_callback(on_statement)
    conn.set_progress_handler(check, PROGRESS_STEPS)
    try:
        yield
    except Exception as exc:
        if hit[0] and _interrupted(exc):
            raise StatementTimeoutError(seconds, setting) from exc
        raise
    finally:
        conn.set_progress_handler(None, 0)
        conn.set_trace_callback(None)


def _interrupted(exc: BaseException | None) -> bool:
    """Whether the failure (or what caused it) is SQLite's interrupt."""
    while exc is not None:
        if isinstance(exc, sqlite3.OperationalError) and "interrupt" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
