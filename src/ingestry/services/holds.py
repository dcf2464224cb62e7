"""Raw holds: keep a raw source's rows (or one source id's) from retention."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.errors import HoldReleasedError, IngestryError, RecordNotFoundError
from ingestry.domain.retention import RawHold
from ingestry.domain.sources import DataSource
from ingestry.services.ports import Storage


class HoldService:
    def __init__(self, storage: Storage, *, clock: Clock = utc_now) -> None:
        self.storage = storage
        self.clock = clock

    def hold(
        self,
        source: DataSource,
        source_id: str | None,
        until: datetime | None,
        reason: str | None,
        actor: str,
        refuse: type[IngestryError],
    ) -> RawHold:
        """A new hold on a raw source (`refuse` is raised for a simple one: it keeps no
        raw rows), as stored."""
        if not source.is_raw:
            raise refuse(f"{source.name} is a simple source: it keeps no raw rows to hold")
        ops = self.storage.raw_operations()
        with ops.session() as session:
            hold_id = session.add_hold(
                source.name, source_id, iso(until) if until else None, reason, actor,
                iso(self.clock()),
            )  # fmt: skip
        return next(h for h in ops.holds(source.name, None) if h.id == hold_id)

    def holds(self, source: str | None, *, active: bool) -> list[RawHold]:
        return self.storage.raw_operations().holds(source, iso(self.clock()) if active else None)

    def release(self, hold_id: int, actor: str) -> RawHold:
        """The hold, released now; RecordNotFoundError or HoldReleasedError say why not."""
        ops = self.storage.raw_operations()
        with ops.session() as session:
            released = session.release_hold(hold_id, actor, iso(self.clock()))
        found = [h for h in ops.holds(None, None) if h.id == hold_id]
        if not found:
            raise RecordNotFoundError(f"no raw hold #{hold_id}")
        if not released:
            raise HoldReleasedError(f"raw hold #{hold_id} was released already")
        return found[0]


def blocking_hold(
    storage: Storage, sources: Iterable[str], source_id: str, now: str
) -> RawHold | None:
    """The first hold in force now on any of `sources` as a whole or on `source_id`
    there: what keeps retention away also keeps an erasure away (docs/erasure.md)."""
    ops = storage.raw_operations()
    for source in sources:
        for found in ops.holds(source, now):
            if found.source_id is None or found.source_id == source_id:
                return found
    return None
