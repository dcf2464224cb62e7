"""Outbox writes on the ingest path: the `on_changes` hook of IngestService.

IngestService calls it inside each batch's transaction with the records the batch
created or changed; one statement writes their events, so an acknowledged batch has
its events and a rolled-back one has none.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.services.ports import OnChanges, RecordChange, StorageSession


def event_writer(clock: Clock = utc_now) -> OnChanges:
    """The `on_changes` callback that writes a batch's outbox events."""

    def write_events(
        session: StorageSession, convention: str, changes: Sequence[RecordChange]
    ) -> None:
        session.append_events(convention, changes, iso(clock()))

    return write_events
