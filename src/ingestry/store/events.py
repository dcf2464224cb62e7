"""The facade's event methods: dispatchers, the outbox, hook runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from ingestry.domain.clock import utc_now
from ingestry.store.core import StoreCore

if TYPE_CHECKING:
    from ingestry.domain.events import DeadEvent
    from ingestry.domain.features import HookOutcome, HookRun
    from ingestry.services.dispatch import EventDispatcher, EventHandler

#: changes taken in per transaction by `take_in_events`
INTAKE_STEP = 5000


class EventArea(StoreCore):
    """Events and hooks."""

    # --- events and hooks ----------------------------------------------------------------------

    def dispatcher(
        self,
        handlers: Sequence[EventHandler] = (),
        *,
        defaults: bool = True,
        max_attempts: int | None = None,
        backoff_seconds: float | None = None,
        lease_seconds: float | None = None,
        batch_size: int | None = None,
        owner: str | None = None,
    ) -> EventDispatcher:
        """An event dispatcher on its own connection (run it in another thread or
        process if you like). It delivers to the built-in handlers (hooks → features,
        then Redis fan-out when `cache` is Redis) unless `defaults=False`, and to
        `handlers` (after the hooks, before the fan-out). Closed with the store."""
        from ingestry.bootstrap import build_dispatcher

        dispatcher = build_dispatcher(
            self.settings, self._open_storage(), handlers, defaults=defaults,
            max_attempts=max_attempts, backoff_seconds=backoff_seconds,
            lease_seconds=lease_seconds, batch_size=batch_size, owner=owner,
        )  # fmt: skip
        self._dispatchers.append(dispatcher)
        return dispatcher

    def dead_events(self) -> list[DeadEvent]:
        """Events parked after too many failed deliveries, oldest first."""
        return self.storage.lifecycle().dead_events()

    def retry_events(self, ids: Iterable[int] | Literal["all"]) -> int:
        """Make dead events (these ids, or "all") pending again; returns how many."""
        chosen = None if ids == "all" else [int(i) for i in ids]
        if chosen == []:
            return 0
        with self.storage.lifecycle().session() as session:
            return session.retry_events(chosen)

    def take_in_events(self) -> int:
        """Take every change not yet in the outbox in as an event now, in steps of a
        few thousand (a dispatcher's claim does this as it goes); returns how many."""
        lifecycle = self.storage.lifecycle()
        total = 0
        while taken := lifecycle.take_in(INTAKE_STEP):
            total += taken
        return total

    def pending_events(self) -> int:
        """Events in the outbox waiting for delivery (leased ones included)."""
        return self.storage.lifecycle().pending_events()

    def rerun_hooks(self, srn: str, hook: str | None = None) -> list[HookOutcome]:
        """Run a record's hooks (or only `hook`) again now, on its current version, with
        the configured runner; each run is recorded in `hook_runs` (no event) and its
        features replace the version's features of that hook and name."""
        from ingestry.bootstrap import build_hook_rerun

        return build_hook_rerun(self.settings, self.storage).rerun(srn, hook)

    def hook_runners(self) -> dict[str, str]:
        """The hook runners this install can use: name → `built-in` or its entry point."""
        from ingestry.bootstrap import hook_runners

        return hook_runners()

    def outbox_lag(self) -> float:
        """Seconds the oldest undelivered event has waited (0 when none waits)."""
        oldest = self.storage.lifecycle().oldest_pending_at()
        return 0.0 if oldest is None else max(0.0, (utc_now() - oldest).total_seconds())

    def hook_runs(self, failed_only: bool = False, *, limit: int | None = None) -> list[HookRun]:
        """Hook runs, oldest first (the latest `limit` when given)."""
        return self.storage.lifecycle().hook_runs(failed_only, limit)
