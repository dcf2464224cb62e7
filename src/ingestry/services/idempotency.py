"""Idempotency-Key handling for requests that write: the first response is kept.

The database row `(owner, key)` is the lock and the memory: inserting it claims the
key (the primary key lets exactly one request in, across processes); the response
stored on it is replayed to every retry with the same request; a retry with another
request is refused; one that arrives while the first is still running is told so.
A claim is a lease: while its request runs, the process holding it renews it
(`renew`, every quarter of the lease); a claim not renewed for `lease_seconds` was left
by a process that died, and the next retry takes it over and runs the request (the
writes behind our endpoints are idempotent themselves: raw bytes dedupe, records upsert
by content, so running it again cannot duplicate anything). It used to be a fixed 10
minutes of 409s after a crash (issue 14); now a retry runs within one lease, 20 s by
default (`api.idempotency_lease_seconds`, INGESTRY_API_IDEMPOTENCY_LEASE_SECONDS).
The claim's `created` column holds the last renewal, so no schema change was needed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from ingestry.domain.errors import IdempotencyInFlightError, IdempotencyKeyReusedError
from ingestry.services.ports.control import IdempotencyStore as IdempotencyStore

#: A claim not renewed for this long is considered abandoned (see the module doc).
LEASE_SECONDS = 20.0
#: Responses are replayed for this long, then pruned.
KEEP_FOR = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


class IdempotencyService:
    def __init__(
        self,
        store: IdempotencyStore,
        *,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lease_seconds = lease_seconds

    @property
    def renew_every(self) -> float:
        """How often the holder renews its claim: four times per lease."""
        return self.lease_seconds / 4

    def start(self, owner: str, key: str, request: bytes) -> Replay | None:
        """None: the caller runs the request, then `finish`es or `abandon`s. A Replay:
        the response to send again. Raises for a reused or in-flight key."""
        stored = self.store.begin(owner, key, request, self.clock(), self.lease_seconds)
        if stored is None:
            return None
        if stored.fingerprint != request:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key '{key}' was already used with a different request"
            )
        if stored.state != "done" or stored.status_code is None or stored.response is None:
            raise IdempotencyInFlightError(
                f"a request with Idempotency-Key '{key}' is still being processed"
            )
        return Replay(stored.status_code, stored.response)

    def finish(self, owner: str, key: str, status_code: int, body: bytes) -> None:
        self.store.finish(owner, key, status_code, body)

    def renew(self, owner: str, key: str) -> None:
        self.store.renew(owner, key, self.clock())

    def abandon(self, owner: str, key: str) -> None:
        self.store.abandon(owner, key)

    def prune(self, keep_for: float = KEEP_FOR) -> int:
        return self.store.prune(self.clock() - keep_for)
