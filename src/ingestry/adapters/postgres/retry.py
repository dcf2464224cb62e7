"""Which PostgreSQL failures a batch transaction retries, and how long it waits.

Writers lock rows in a stable order (keys sorted inside every statement), so two
ingests of overlapping data queue behind each other instead of deadlocking. Retrying
is the safety net for what ordering cannot rule out (a deadlock across statements, a
serialization failure under a stricter isolation level set by the server's default):
the whole transaction is rolled back and run again, a bounded number of times, with a
jittered, growing pause so two retrying writers do not collide again in lockstep.
"""

from __future__ import annotations

import random
import time

import psycopg

#: serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

#: Attempts of one transaction in all (the first run included).
MAX_ATTEMPTS = 6

_BASE_DELAY = 0.02
_MAX_DELAY = 1.0


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.Error) and exc.sqlstate in RETRYABLE_SQLSTATES


def pause(attempt: int) -> None:
    """Sleep before retry number `attempt` (1-based): full jitter, exponential cap."""
    cap = min(_MAX_DELAY, _BASE_DELAY * (2**attempt))
    time.sleep(random.uniform(0, cap))
