"""MemoryLifecycle: the LifecycleStorage and LifecycleSession ports on the fake database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from ingestry.adapters.sql.lifecycle import dead_event, feature, hook_run
from ingestry.domain.conventions import Convention
from ingestry.domain.errors import ConflictError, RecordNotFoundError
from ingestry.domain.events import DeadEvent
from ingestry.domain.features import Feature, HookRun
from ingestry.domain.records import parse_srn, spell_srn
from ingestry.services.ports import (
    ClaimedEvent,
    FeatureRow,
    HookRunRow,
    RecordChange,
    RecordRow,
)
from tests.fakes.state import Row, moment
from tests.fakes.storage import RECORD_KEYS, MemorySession

if TYPE_CHECKING:
    from tests.fakes.storage import MemoryStorage

HOOK_RUN_KEYS = (
    "event_id", "srn", "version", "convention", "hook", "status", "exit_code", "reason",
    "stdout_tail", "stderr_tail", "features", "started_at", "duration_seconds",
)  # fmt: skip


def _due(event: Row, now: str) -> bool:
    at = moment(now)
    available, leased = moment(event["available_at"]), moment(event["leased_until"])
    return (available is None or available <= at) and (leased is None or leased <= at)  # type: ignore[operator]


class MemoryLifecycleSession(MemorySession):
    """LifecycleSession: the outbox, conditional updates and hook runs, in one transaction."""

    def update_record(
        self, convention: Convention, row: RecordRow, expected_version: int, now: str
    ) -> int:
        new = dict(zip(RECORD_KEYS, row, strict=True))
        identity = (new["source_type"], new["upstream"], new["source_id"])
        srn = spell_srn(convention.name, *identity)
        current = self.tables.records.get(convention.name, {}).get(identity)
        if current is None:
            raise RecordNotFoundError(f"no record {srn}")
        if current["version"] != expected_version:
            raise ConflictError(srn, expected_version, current["version"])
        if current["content_hash"] == new["content_hash"]:
            return expected_version  # same content: nothing to write
        self._keep_history(convention, current, now)
        version = expected_version + 1
        current.update(
            metadata=new["metadata"], content_hash=new["content_hash"],
            extractor_version=new["extractor_version"], columns=new["columns"],
            version=version, updated_at=now,
        )  # fmt: skip
        self.append_events(
            convention.name, [RecordChange(convention.name, *identity, version)], now
        )
        return version

    def _events(self, ids: Sequence[int], owner: str | None = None) -> list[Row]:
        events = (self.tables.events.get(i) for i in dict.fromkeys(ids))
        return [e for e in events if e is not None and (owner is None or e["lease_owner"] == owner)]

    def take_in(self, now: str, limit: int) -> int:
        return 0  # the fake writes each change's event with it

    def claim_events(
        self, owner: str, now: str, lease_until: str, limit: int
    ) -> list[ClaimedEvent]:
        pending = sorted(
            (e for e in self.tables.events.values() if e["status"] == "pending"),
            key=lambda e: e["id"],
        )
        first: dict[str, int] = {}
        for e in pending:
            first.setdefault(e["srn"], e["id"])
        chosen = [e for e in pending if first[e["srn"]] == e["id"] and _due(e, now)][:limit]
        for e in chosen:
            e.update(lease_owner=owner, leased_until=lease_until)
        return [
            ClaimedEvent(
                e["id"], e["srn"], e["convention"], e["version"], e["created_at"], e["attempts"]
            )
            for e in chosen
        ]

    def renew_leases(self, ids: Sequence[int], owner: str, lease_until: str) -> set[int]:
        mine = self._events(ids, owner)
        for e in mine:
            e["leased_until"] = lease_until
        return {e["id"] for e in mine if e["status"] == "pending"}

    def ack_events(self, ids: Sequence[int], owner: str | None = None) -> None:
        for e in self._events(ids, owner):
            del self.tables.events[e["id"]]

    def fail_event(
        self, event_id: int, error: str, now: str, retry_at: str | None, owner: str | None = None
    ) -> None:
        for e in self._events([event_id], owner):
            e.update(
                attempts=e["attempts"] + 1, last_error=error, failed_at=now,
                available_at=retry_at, status="pending" if retry_at else "dead",
                lease_owner=None, leased_until=None,
            )  # fmt: skip

    def release_events(self, ids: Sequence[int], owner: str) -> None:
        for e in self._events(ids, owner):
            e.update(lease_owner=None, leased_until=None)

    def retry_events(self, ids: Sequence[int] | None) -> int:
        chosen = self.tables.events.values() if ids is None else self._events(ids)
        dead = [e for e in chosen if e["status"] == "dead"]
        for e in dead:
            e.update(
                status="pending", attempts=0, available_at=None, lease_owner=None,
                leased_until=None,
            )  # fmt: skip
        return len(dead)

    def record_hook_run(self, run: HookRunRow, features: Sequence[FeatureRow]) -> None:
        produced = run[11]
        for srn, version, hook, name, convention, value in features:
            self.tables.features[(srn, version, hook, name)] = {
                "srn": srn, "version": version, "hook": hook, "name": name,
                "convention": convention, "value": value, "produced_at": produced,
            }  # fmt: skip
        ident = self.tables.next_id("hook_runs")
        self.tables.hook_runs[ident] = {"id": ident, **dict(zip(HOOK_RUN_KEYS, run, strict=True))}


class MemoryLifecycle:
    """LifecycleStorage: reads from the committed state, writes in the storage's sessions."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage

    @contextmanager
    def session(self) -> Iterator[MemoryLifecycleSession]:
        with self.storage.db.transaction() as tables:
            yield MemoryLifecycleSession(tables)

    def event_sources(
        self, convention: Convention, events: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], str]:
        tables = self.storage.db.tables
        table = tables.records.get(convention.name, {})
        found: dict[tuple[str, int], str] = {}
        for srn, version in events:
            current = table.get(parse_srn(srn)[1:])
            if current is not None and current["version"] == version:
                found[(srn, version)] = current["source"]
                continue
            for h in tables.history:
                if (h["srn"], h["version"]) == (srn, version):
                    found[(srn, version)] = h["source"]
        return found

    def dead_events(self) -> list[DeadEvent]:
        keys = (
            "id", "srn", "convention", "version", "attempts", "last_error", "created_at",
            "failed_at",
        )  # fmt: skip
        events = sorted(self.storage.db.tables.events.values(), key=lambda e: e["id"])
        return [dead_event(tuple(e[k] for k in keys)) for e in events if e["status"] == "dead"]

    def take_in(self, limit: int) -> int:
        return 0

    def pending_events(self) -> int:
        return sum(e["status"] == "pending" for e in self.storage.db.tables.events.values())

    def oldest_pending_at(self) -> datetime | None:
        events = self.storage.db.tables.events.values()
        found = [str(e["created_at"]) for e in events if e["status"] == "pending"]
        return datetime.fromisoformat(min(found)) if found else None

    def features(self, srn: str) -> list[Feature]:
        rows = sorted(
            (f for f in self.storage.db.tables.features.values() if f["srn"] == srn),
            key=lambda f: (f["version"], f["hook"], f["name"]),
        )
        return [
            feature((f["name"], f["value"], f["version"], f["hook"], f["produced_at"]))
            for f in rows
        ]

    def hook_runs(self, failed_only: bool, limit: int | None) -> list[HookRun]:
        runs = sorted(self.storage.db.tables.hook_runs.values(), key=lambda r: r["id"])
        if failed_only:
            runs = [r for r in runs if r["status"] == "failed"]
        if limit is not None:
            runs = runs[-limit:] if limit else []
        return [hook_run((r["id"], *(r[k] for k in HOOK_RUN_KEYS))) for r in runs]

    def hook_succeeded(self, srn: str, version: int, hook: str) -> bool:
        return any(
            (r["srn"], r["version"], r["hook"], r["status"]) == (srn, version, hook, "succeeded")
            for r in self.storage.db.tables.hook_runs.values()
        )
