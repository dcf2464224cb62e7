"""InsertRecordFeatures: run a convention's hooks on a published record version and
store what they produce (FeatureService).

Per hook and event: a fresh work_dir under the event's `features_dir` (record.json,
raw.bin when the record came from a raw source, an empty features/), the hook run
through the HookRunner port, then its features/*.json read, validated and stored
against the record version together with the run. A hook that fails, hangs or writes
garbage is a failed run, recorded with its exit code, reason and stderr tail; it
never fails the event (the record is safe, the next hook still runs). What does fail
the event, so the dispatcher retries it: the record missing, or storage failing.

Idempotent under re-delivery: a hook that already succeeded on a version is not run
again, and features upsert by (srn, version, hook, name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.conventions import Convention, HookSpec
from ingestry.domain.deletion import RECORD_DELETED
from ingestry.domain.errors import RecordNotFoundError
from ingestry.domain.events import RecordEvent
from ingestry.domain.features import (
    HOOK_FAILED,
    HOOK_SUCCEEDED,
    HookOutcome,
    HookResult,
    MalformedFeaturesError,
    parse_features,
)
from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record
from ingestry.extract.jsonio import dumps, loads
from ingestry.services.ports import (
    FeatureRow,
    HookRunner,
    HookRunRow,
    LifecycleStorage,
    Storage,
    WorkSpace,
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record_document(record: Record) -> bytes:
    """record.json: the record as `ingestry records get` prints it."""
    return dumps(
        {
            "srn": record.srn,
            "convention": record.convention,
            "source": source_to_dict(record.source),
            "version": record.version,
            "published_at": record.published_at.isoformat(),
            "updated_at": record.updated_at.isoformat(),
            "data_source": record.data_source,
            "columns": {k: _jsonable(v) for k, v in record.columns.items()},
            "metadata": record.metadata,
        }
    )


@dataclass(frozen=True, slots=True)
class HookTarget:
    """The record version hooks run on: from a delivered event (`event_id`), or asked
    for again by `hooks rerun` (no event: `event_id` None, `kind` "rerun")."""

    event_id: int | None
    kind: str
    srn: str
    convention: str
    version: int
    features_dir: str

    @classmethod
    def of(cls, event: RecordEvent) -> HookTarget:
        return cls(
            event.id, event.kind, event.srn, event.convention, event.version, event.features_dir
        )


class FeatureService:
    """Reads a hook's features/ and stores them, with the run, against a version."""

    def __init__(self, lifecycle: LifecycleStorage, workspace: WorkSpace) -> None:
        self.lifecycle = lifecycle
        self.workspace = workspace

    def collect(self, work_dir: Path) -> list[tuple[str, Any]]:
        """The features a hook left; MalformedFeaturesError when any file is bad."""
        return parse_features(self.workspace.read_features(work_dir), loads)

    def record(
        self,
        event: HookTarget,
        hook: HookSpec,
        result: HookResult,
        features: list[tuple[str, Any]],
        started_at: datetime,
        reason: str | None,
    ) -> None:
        """The run, and (when it succeeded) its features, in one transaction."""
        status = HOOK_FAILED if reason is not None else HOOK_SUCCEEDED
        if reason is not None:
            reason = reason.replace("\x00", "\ufffd")  # text columns on every backend
        run: HookRunRow = (
            event.event_id, event.srn, event.version, event.convention, hook.name, status,
            result.exit_code, reason, result.stdout_tail or None, result.stderr_tail or None,
            len(features), iso(started_at), round(result.duration_seconds, 3),
        )  # fmt: skip
        rows: list[FeatureRow] = [
            (event.srn, event.version, hook.name, name, event.convention, dumps(value).decode())
            for name, value in features
        ]
        with self.lifecycle.session() as session:
            session.record_hook_run(run, rows)


class InsertRecordFeatures:
    """The event handler that runs the event's convention's hooks."""

    __name__ = "InsertRecordFeatures"

    def __init__(
        self,
        storage: Storage,
        convention: Callable[[str], Convention],
        runner: HookRunner,
        features: FeatureService,
        *,
        clock: Clock = utc_now,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.storage = storage
        self.convention = convention
        self.runner = runner
        self.features = features
        self.clock = clock
        self.env = dict(env or {})

    def __call__(self, event: RecordEvent) -> None:
        convention = self.convention(event.convention)
        if not convention.hooks or event.kind == RECORD_DELETED:
            return  # hooks derive features from content; a tombstone has none new
        record = self.storage.get_record(convention, event.srn)
        if record is None and self.storage.deletion().deleted_record(convention, event.srn):
            return  # deleted since: the tombstone's own event follows
        if record is None:
            raise RecordNotFoundError(f"no record {event.srn}")
        if record.version > event.version:
            return  # superseded: the newer version's own event runs the hooks on it
        document = record_document(record)
        raw = self._raw(record)
        target = HookTarget.of(event)
        for hook in convention.hooks:
            if self.features.lifecycle.hook_succeeded(event.srn, event.version, hook.name):
                continue  # re-delivered: this hook's features are stored already
            self.run_hook(target, hook, document, raw)

    def raw_of(self, record: Record) -> bytes | None:
        """The payload the record version came from (raw.bin), when it is kept."""
        return self._raw(record)

    def _raw(self, record: Record) -> bytes | None:
        if record.raw_sha256 is None or record.data_source is None:
            return None
        for payload in self.storage.raw_payloads(record.data_source, record.source.id):
            if payload.sha256 == record.raw_sha256:
                return payload.payload
        return None

    def run_hook(
        self, event: HookTarget, hook: HookSpec, document: bytes, raw: bytes | None
    ) -> HookOutcome:
        """Run one hook on a fresh work_dir, store the run (and its features); the
        outcome is what was recorded."""
        workspace = self.features.workspace
        work_dir = workspace.prepare(Path(event.features_dir), hook.name, document, raw)
        try:
            env = {
                **self.env,
                "INGESTRY_WORK_DIR": str(work_dir),
                "INGESTRY_RECORD_SRN": event.srn,
                "INGESTRY_RECORD_VERSION": str(event.version),
                "INGESTRY_CONVENTION": event.convention,
                "INGESTRY_EVENT": event.kind,
                "INGESTRY_HOOK": hook.name,
            }
            started = self.clock()
            result = self.runner.run(hook, work_dir, env, hook.timeout_seconds)
            reason = result.failure(hook.timeout_seconds)
            features: list[tuple[str, Any]] = []
            if reason is None:
                try:
                    features = self.features.collect(work_dir)
                except MalformedFeaturesError as exc:
                    reason = f"malformed features: {exc}"
            self.features.record(event, hook, result, features, started, reason)
        finally:
            workspace.remove(work_dir)
        return HookOutcome(
            srn=event.srn,
            version=event.version,
            hook=hook.name,
            status=HOOK_FAILED if reason is not None else HOOK_SUCCEEDED,
            exit_code=result.exit_code,
            reason=reason,
            features=len(features),
            started_at=started,
            duration_seconds=round(result.duration_seconds, 3),
        )
