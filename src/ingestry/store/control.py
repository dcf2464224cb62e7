"""The facade's control-plane methods (API and worker): jobs, keys, idempotency."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingestry.store.core import StoreCore

if TYPE_CHECKING:
    from ingestry.domain.jobs import ApiKey
    from ingestry.services.control import ControlPorts
    from ingestry.services.idempotency import IdempotencyService
    from ingestry.services.jobs import JobService
    from ingestry.services.keys import KeyService
    from ingestry.services.ports.harvest import HarvestLedger, RunLocks


class ControlArea(StoreCore):
    """Jobs, API keys, idempotency keys."""

    # --- jobs, API keys, idempotency keys (API and worker) ------------------------------------

    @property
    def control(self) -> ControlPorts:
        """The control tables, on a pooled connection safe to share between threads
        (opened after the storage, which migrates an empty database first)."""
        from ingestry.bootstrap import build_control

        if self._control is None:
            _ = self.storage
            self._control = build_control(self.settings)
        return self._control

    def _harvest_ledger(self) -> HarvestLedger:
        ledger = self.control.harvest
        assert ledger is not None, "the control plane keeps the harvest ledger"
        return ledger

    def _run_locks(self) -> RunLocks:
        locks = self.control.run_locks
        assert locks is not None, "the control plane holds the run locks"
        return locks

    def jobs(self) -> JobService:
        from ingestry.services.jobs import JobService

        return JobService(self.control.jobs, max_attempts=self.settings.jobs.max_attempts)

    def api_keys(self) -> KeyService:
        from ingestry.services.keys import KeyService

        return KeyService(self.control.keys)

    def create_api_key(
        self, name: str, sources: Sequence[str], *, admin: bool = False
    ) -> tuple[ApiKey, str]:
        """A new key for registered sources; returns it and its token (shown once)."""
        for source in sources:
            self.source(source)
        return self.api_keys().create(name, sources, admin=admin)

    def idempotency(self) -> IdempotencyService:
        from ingestry.services.idempotency import IdempotencyService

        return IdempotencyService(
            self.control.idempotency, lease_seconds=self.settings.api.idempotency_lease_seconds
        )

    def data_file(self, relative: str) -> Path:
        """A file under the data root (no `..`, no symlink escape)."""
        from ingestry.bootstrap import data_file

        return data_file(self.settings, relative)

    def inbox_file(self, source: str, relative: str) -> Path:
        """A file of `source`'s inbox, `data/inbox/{source}/` (where API jobs read; see
        `adapters.paths`), never one of the store's own files."""
        from ingestry.bootstrap import inbox_file

        return inbox_file(self.settings, self.source(source).name, relative)

    def ping(self) -> None:
        """Raise unless the database answers."""
        self.control.ping()
