"""The control plane's ports in one bundle: jobs, API keys, idempotency keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingestry.services.ports import ApiKeyStore, IdempotencyStore, JobQueue
from ingestry.services.ports.browse import Browse
from ingestry.services.ports.harvest import HarvestLedger, RunLocks


@dataclass(frozen=True)
class ControlPorts:
    jobs: JobQueue
    keys: ApiKeyStore
    idempotency: IdempotencyStore
    ping: Callable[[], None]  # raises when the database cannot be reached
    quarantine_open: Callable[[], dict[str, int]]  # open quarantine entries per source
    close: Callable[[], None]
    browse: Browse  # the dashboard's paged reads (quarantine, jobs, outbox)
    #: HTTP pulls' pages and cursors, and the per-source run lock (docs/harvest.md)
    harvest: HarvestLedger | None = None
    run_locks: RunLocks | None = None
