"""EventDispatcher: delivers outbox events to handlers, at least once, in order per record.

A round claims (leases) a batch of due events, delivers them one by one to every
handler in turn, and acknowledges the delivered ones (they leave the outbox) in groups:
at least once a second, and before any failure is recorded. A dispatcher that dies
mid-round leaves its leases to expire; the events are then claimed again (delivered
twice at worst, never lost), which is why handlers must be idempotent.

A failed delivery is retried with exponential backoff; after `max_attempts` failures
the event is parked as dead (`ingestry events dead`, `ingestry events retry`). The
storage's claim never hands out an event while an older one of the same record is
pending, so a record's events arrive in version order, also across dispatchers.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import RECORD_DELETED
from ingestry.domain.events import (
    DispatchSummary,
    EventSettings,
    RecordEvent,
    event_kind,
    features_dir,
)
from ingestry.domain.provenance import source_from_dict
from ingestry.extract.jsonio import loads
from ingestry.services.ports import ClaimedEvent, DeletionStorage, LifecycleStorage

log = logging.getLogger(__name__)

EventHandler = Callable[[RecordEvent], None]

#: Acknowledge delivered events (and renew the rest of the round's leases) this often.
FLUSH_SECONDS = 1.0
MAX_ERROR_CHARS = 2000
DEFAULT_SETTINGS = EventSettings()


def handler_name(handler: EventHandler) -> str:
    return str(getattr(handler, "__name__", None) or type(handler).__name__)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class EventDispatcher:
    """Delivers the outbox of one database to `handlers` (in the order given)."""

    def __init__(
        self,
        lifecycle: LifecycleStorage,
        handlers: Sequence[EventHandler],
        *,
        convention: Callable[[str], Convention],
        work_root: Path,
        settings: EventSettings = DEFAULT_SETTINGS,
        clock: Clock = utc_now,
        owner: str | None = None,
        on_close: Sequence[Callable[[], None]] = (),
        deletion: DeletionStorage | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        #: tells a tombstone version's event (RecordDeleted) from an update's
        self.deletion = deletion
        self.handlers = list(handlers)
        self.convention = convention
        self.work_root = work_root
        self.settings = settings
        self.clock = clock
        self.owner = owner or default_owner()
        self._on_close = list(on_close)
        self._stop: threading.Event | None = None

    # --- running ------------------------------------------------------------------------

    def run_once(self, limit: int | None = None) -> DispatchSummary:
        """Deliver every event that is due now (at most `limit`), then return."""
        started = time.perf_counter()
        summary = DispatchSummary()
        while limit is None or summary.claimed < limit:
            if self._stopping():
                break
            want = self.settings.batch_size
            if limit is not None:
                want = min(want, limit - summary.claimed)
            claimed = self._claim(want)
            if not claimed:
                break
            summary.claimed += len(claimed)
            self._deliver(claimed, summary)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> DispatchSummary:
        """Deliver events as they become due until `stop` is set (checked between
        events, so a stop waits for at most the event under way)."""
        total = DispatchSummary()
        self._stop = stop
        try:
            while not stop.is_set():
                summary = self.run_once()
                total.add(summary)
                if not summary.claimed:
                    stop.wait(poll_seconds)
        finally:
            self._stop = None
        return total

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    # --- one round ------------------------------------------------------------------------

    def _claim(self, limit: int) -> list[ClaimedEvent]:
        now = self.clock()
        with self.lifecycle.session() as session:
            return session.claim_events(self.owner, iso(now), self._lease_end(now), limit)

    def _lease_end(self, now: datetime) -> str:
        return iso(now + timedelta(seconds=self.settings.lease))

    def _deliver(self, claimed: list[ClaimedEvent], summary: DispatchSummary) -> None:
        events = self._events(claimed, summary)
        acks: list[int] = []
        flushed = time.monotonic()
        owned = {e.id for e in events}
        for n, event in enumerate(events):
            if self._stopping():
                self._flush(acks)
                self._release([e.id for e in events[n:]])
                return
            if event.id not in owned:
                continue  # this dispatcher stalled past its lease; another one has it
            failure = self._handle(event)
            if failure is not None:
                self._flush(acks)
                self._fail(event.id, event.attempts, failure, summary)
                continue
            acks.append(event.id)
            summary.delivered += 1
            if time.monotonic() - flushed >= FLUSH_SECONDS:
                self._flush(acks)
                owned = self._renew([e.id for e in events[n + 1 :]])
                flushed = time.monotonic()
        self._flush(acks)

    def _handle(self, event: RecordEvent) -> str | None:
        """Run every handler; the reason of the first failure, or None."""
        for handler in self.handlers:
            try:
                handler(event)
            except Exception as exc:
                reason = f"{handler_name(handler)}: {type(exc).__name__}: {exc}"
                log.warning("event %d (%s v%d): %s", event.id, event.srn, event.version, reason)
                return reason[:MAX_ERROR_CHARS]
        return None

    def _events(self, claimed: list[ClaimedEvent], summary: DispatchSummary) -> list[RecordEvent]:
        """The claimed rows as events (id order), with their provenance read in one query
        per convention; an event whose convention or record is gone counts as a failed
        delivery (so it ends up dead and visible, not silently dropped)."""
        by_convention: dict[str, list[ClaimedEvent]] = {}
        for row in claimed:
            by_convention.setdefault(row.convention, []).append(row)
        events: list[RecordEvent] = []
        for name, rows in by_convention.items():
            try:
                convention = self.convention(name)
            except Exception as exc:
                for row in rows:
                    self._fail(row.id, row.attempts, f"{type(exc).__name__}: {exc}", summary)
                continue
            keys = [(r.srn, r.version) for r in rows]
            sources = self.lifecycle.event_sources(convention, keys)
            deleted = self.deletion.tombstones(keys) if self.deletion is not None else {}
            for row in rows:
                source = sources.get((row.srn, row.version))
                if source is None:
                    reason = f"no record {row.srn} at version {row.version}"
                    self._fail(row.id, row.attempts, reason, summary)
                    continue
                kind = RECORD_DELETED if (row.srn, row.version) in deleted else None
                events.append(self._event(row, source, kind))
        events.sort(key=lambda e: e.id)
        return events

    def _event(self, row: ClaimedEvent, source: str, kind: str | None = None) -> RecordEvent:
        return RecordEvent(
            id=row.id,
            kind=kind or event_kind(row.version),
            srn=row.srn,
            convention=row.convention,
            source=source_from_dict(loads(source)),
            version=row.version,
            features_dir=str(features_dir(self.work_root, row.srn, row.version)),
            created_at=datetime.fromisoformat(row.created_at),
            attempts=row.attempts,
        )

    # --- acknowledgements and failures ------------------------------------------------------

    def _flush(self, acks: list[int]) -> None:
        if acks:
            with self.lifecycle.session() as session:
                session.ack_events(acks, self.owner)
            acks.clear()

    def _renew(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        with self.lifecycle.session() as session:
            return session.renew_leases(ids, self.owner, self._lease_end(self.clock()))

    def _release(self, ids: list[int]) -> None:
        if ids:
            with self.lifecycle.session() as session:
                session.release_events(ids, self.owner)

    def _fail(self, event_id: int, attempts: int, reason: str, summary: DispatchSummary) -> None:
        now = self.clock()
        failed = attempts + 1
        retry_at = None
        if failed < self.settings.max_attempts:
            retry_at = iso(now + timedelta(seconds=self.settings.backoff(failed)))
            summary.retried += 1
        else:
            summary.dead += 1
        with self.lifecycle.session() as session:
            session.fail_event(event_id, reason, iso(now), retry_at, self.owner)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()

    def __enter__(self) -> EventDispatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
