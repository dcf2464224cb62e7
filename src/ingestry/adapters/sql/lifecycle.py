"""Lifecycle rows → domain objects, and the SQL both backends share verbatim.

Timestamps are ISO text on SQLite and datetimes on PostgreSQL; `as_datetime` takes both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingestry.adapters.sql.rows import as_datetime, as_json
from ingestry.domain.events import DeadEvent, event_kind
from ingestry.domain.features import Feature, HookRun

DEAD_SELECT = (
    "SELECT id, srn, convention, version, attempts, last_error, created_at, failed_at"
    " FROM record_events WHERE status = 'dead' ORDER BY id"
)
PENDING_COUNT = "SELECT count(*) FROM record_events WHERE status = 'pending'"
OLDEST_PENDING = "SELECT min(created_at) FROM record_events WHERE status = 'pending'"
FEATURES_SELECT = (
    "SELECT name, value, version, hook, produced_at FROM record_features"
    " WHERE srn = {p} ORDER BY version, hook, name"
)
HOOK_RUN_COLUMNS = (
    "id, event_id, srn, version, convention, hook, status, exit_code, reason, stdout_tail,"
    " stderr_tail, features, started_at, duration_seconds"
)
HOOK_SUCCEEDED = (
    "SELECT 1 FROM hook_runs WHERE srn = {p} AND version = {p} AND hook = {p}"
    " AND status = 'succeeded' LIMIT 1"
)
INSERT_HOOK_RUN = (
    "INSERT INTO hook_runs (event_id, srn, version, convention, hook, status, exit_code,"
    " reason, stdout_tail, stderr_tail, features, started_at, duration_seconds)"
    " VALUES ({marks})"
)
ACK = "DELETE FROM record_events WHERE id IN ({ids})"
#: Appended to ACK / a failure's UPDATE: only while the event is leased to `owner`.
OWNED = " AND lease_owner = {p}"
RELEASE = (
    "UPDATE record_events SET lease_owner = NULL, leased_until = NULL"
    " WHERE id IN ({ids}) AND lease_owner = {p}"
)


def hook_runs_select(failed_only: bool, limit: int | None) -> str:
    """The latest `limit` runs (all when None), returned oldest first by the caller."""
    where = " WHERE status = 'failed'" if failed_only else ""
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    return f"SELECT {HOOK_RUN_COLUMNS} FROM hook_runs{where} ORDER BY id DESC{tail}"


def dead_event(row: tuple[Any, ...]) -> DeadEvent:
    ident, srn, convention, version, attempts, last_error, created, failed = row
    return DeadEvent(
        id=ident,
        kind=event_kind(version),
        srn=srn,
        convention=convention,
        version=version,
        attempts=attempts,
        last_error=last_error,
        created_at=as_datetime(created),
        failed_at=as_datetime(failed) if failed is not None else None,
    )


def feature(row: tuple[Any, ...], decode_json: Callable[[Any], Any] = as_json) -> Feature:
    name, value, version, hook, produced = row
    return Feature(
        name=name,
        value=decode_json(value),
        record_version=version,
        hook=hook,
        produced_at=as_datetime(produced),
    )


def hook_run(row: tuple[Any, ...]) -> HookRun:
    (
        ident, event_id, srn, version, convention, hook, status, exit_code, reason,
        stdout_tail, stderr_tail, features, started, duration,
    ) = row  # fmt: skip
    return HookRun(
        id=ident,
        event_id=event_id,
        srn=srn,
        version=version,
        convention=convention,
        hook=hook,
        status=status,
        exit_code=exit_code,
        reason=reason,
        stdout_tail=stdout_tail,
        stderr_tail=stderr_tail,
        features=features,
        started_at=as_datetime(started),
        duration_seconds=float(duration),
    )
