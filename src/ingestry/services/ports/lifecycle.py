"""The record lifecycle: outbox, conditional updates, hook runs, features."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import NamedTuple, Protocol

from ingestry.domain.conventions import Convention
from ingestry.domain.events import DeadEvent
from ingestry.domain.features import Feature, HookRun
from ingestry.services.ports.rows import FeatureRow, HookRunRow, RecordRow


class ClaimedEvent(NamedTuple):
    """An outbox row leased to one dispatcher."""

    id: int
    srn: str
    convention: str
    version: int
    created_at: str
    attempts: int


class LifecycleSession(Protocol):
    """One transaction on the lifecycle tables (and the records, for updates)."""

    def take_in(self, now: str, limit: int) -> int:
        """Take up to `limit` changes after the outbox cursor in as events (the changes
        feed is the outbox: adapters/sql/intake.py); returns how many were read."""
        ...

    def update_record(
        self, convention: Convention, row: RecordRow, expected_version: int, now: str
    ) -> int:
        """Replace a record's content if, and only if, it is at `expected_version`
        (one conditional statement, not read-then-write): previous version into
        history, version + 1 (its change, and so its event). Returns the new version, or the
        current one when the content is the same. Raises ConflictError when the record
        is at another version, RecordNotFoundError when there is none."""
        ...

    def claim_events(
        self, owner: str, now: str, lease_until: str, limit: int
    ) -> list[ClaimedEvent]:
        """Lease up to `limit` due events, oldest first, at most one per record: the
        oldest pending event of its record. Events leased to a live dispatcher are
        neither claimed nor overtaken."""
        ...

    def renew_leases(self, ids: Sequence[int], owner: str, lease_until: str) -> set[int]:
        """Extend `owner`'s leases; returns the ids still leased to it."""
        ...

    def ack_events(self, ids: Sequence[int], owner: str | None = None) -> None:
        """Delivered: the events leave the outbox. With `owner`, only those still leased
        to it (one whose lease ran out and was claimed by another dispatcher is that
        one's to acknowledge: it may be delivering it, and the record's next event
        must not overtake it)."""
        ...

    def fail_event(
        self, event_id: int, error: str, now: str, retry_at: str | None, owner: str | None = None
    ) -> None:
        """Count a failed delivery: due again at `retry_at`, or dead when None. With
        `owner`, only while the event is still leased to it."""
        ...

    def release_events(self, ids: Sequence[int], owner: str) -> None:
        """Give leases back unused (the dispatcher is stopping)."""
        ...

    def retry_events(self, ids: Sequence[int] | None) -> int:
        """Dead events (all when `ids` is None) become pending with fresh attempts."""
        ...

    def record_hook_run(self, run: HookRunRow, features: Sequence[FeatureRow]) -> None:
        """A hook run and the features it produced (upserted by srn, version, hook,
        name, so a re-run updates in place), together."""
        ...


class LifecycleStorage(Protocol):
    def session(self) -> AbstractContextManager[LifecycleSession]: ...

    def event_sources(
        self, convention: Convention, events: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], str]:
        """Provenance JSON of each (srn, version) that exists."""
        ...

    def dead_events(self) -> list[DeadEvent]: ...

    def take_in(self, limit: int) -> int:
        """One intake step in its own transaction (`LifecycleSession.take_in`)."""
        ...

    def pending_events(self) -> int:
        """Events waiting: taken in and pending, and the changes not yet taken in."""
        ...

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest event still waiting for delivery was written (outbox lag)."""
        ...

    def features(self, srn: str) -> list[Feature]: ...

    def hook_runs(self, failed_only: bool, limit: int | None) -> list[HookRun]: ...

    def hook_succeeded(self, srn: str, version: int, hook: str) -> bool: ...
