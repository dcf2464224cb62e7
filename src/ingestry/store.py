"""`Store`: the Python API, and the one core every entry point calls."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ingestry.bootstrap import (
    build_control,
    build_dispatcher,
    build_extractor_registry,
    build_parallel,
    build_storage,
    build_write_mode,
    compile_extractor,
    data_file,
    export_file,
    open_file_inputs,
    write_source_key,
)
from ingestry.config import Settings, load_settings
from ingestry.domain.clock import iso, utc_now
from ingestry.domain.errors import (
    HoldReleasedError,
    InputError,
    RecordNotFoundError,
)
from ingestry.domain.events import DeadEvent
from ingestry.domain.features import Feature, HookRun
from ingestry.domain.jobs import ApiKey
from ingestry.domain.payloads import QuarantineDetail, QuarantineEntry, RawPayload
from ingestry.domain.provenance import RecordSource
from ingestry.domain.records import Record, convention_of
from ingestry.domain.retention import RawHold, RetentionAuditEntry, RetentionReport
from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.extract.compiler import Extractor
from ingestry.migrations import HEAD
from ingestry.services.control import ControlPorts
from ingestry.services.dispatch import EventDispatcher, EventHandler
from ingestry.services.export import ExportProgress, ExportSummary, export_records
from ingestry.services.idempotency import IdempotencyService
from ingestry.services.ingest import IngestService, IngestSummary
from ingestry.services.inputs import Input, ReadOptions
from ingestry.services.jobs import JobService
from ingestry.services.keys import KeyService
from ingestry.services.migrate import MigrationSummary, StrategyMigrationService, refuse
from ingestry.services.outbox import event_writer
from ingestry.services.payloads import CSVRowsInput, PayloadInput
from ingestry.services.ports import RawWindow, Storage
from ingestry.services.preparation import ProgressFn
from ingestry.services.publish import PublishService, PublishSummary
from ingestry.services.quarantine import QuarantineService
from ingestry.services.query import check_cursor, record_query
from ingestry.services.replay import (
    NotRawSourceError,
    ReplayProgressFn,
    ReplayService,
    ReplaySummary,
)
from ingestry.services.retention import RetentionService
from ingestry.services.status import ExtractorStatus, extractor_status
from ingestry.services.writemode import WriteMode


class Store:
    """An open ingestry store: sources from the config, records in its database."""

    def __init__(self, settings: Settings, open_storage: Callable[[], Storage]) -> None:
        self.settings = settings
        self._open_storage = open_storage
        self._storage: Storage | None = None
        self._registry = build_extractor_registry(settings)
        self._extractors: dict[str, Extractor] = {}
        self._parallel = build_parallel()
        self._publish_service: PublishService | None = None
        self._dispatchers: list[EventDispatcher] = []
        self._control: ControlPorts | None = None
        self._write_mode: WriteMode | None = None

    @property
    def storage(self) -> Storage:
        """The database, opened (and for an empty one, migrated) on first use, so a
        request that fails validation leaves no trace, not even an empty file."""
        if self._storage is None:
            self._storage = self._open_storage()
        return self._storage

    @property
    def write_mode(self) -> WriteMode:
        """How ingests write to this storage, decided once (see `services.writemode`)."""
        if self._write_mode is None:
            self._write_mode = build_write_mode(self.storage)
        return self._write_mode

    # --- sources and extractors ---------------------------------------------------------

    def source(self, name: str) -> DataSource:
        return self.settings.source(name)

    def extractor(self, source: DataSource) -> Extractor:
        found = self._extractors.get(source.name)
        if found is None:
            found = compile_extractor(self.settings, self._registry, source)
            self._extractors[source.name] = found
        return found

    # --- ingest ----------------------------------------------------------------------------

    def ingest(
        self, source: str, payloads: Iterable[Any], *, strict: bool = False
    ) -> IngestSummary:
        """Ingest in-memory payloads (bytes, str or JSON-able objects) into a source;
        for a CSV source, rows as mappings of column → cell (see CSVRowsInput)."""
        data_source = self.source(source)
        if data_source.format is SourceFormat.CSV:
            required = ReadOptions.of(data_source).required_columns
            rows = CSVRowsInput(payloads, data_source.name, required)
            return self.ingest_inputs(source, [rows], strict=strict)
        return self.ingest_inputs(source, [PayloadInput(payloads)], strict=strict)

    def ingest_files(
        self,
        source: str,
        paths: Sequence[str | os.PathLike[str]],
        *,
        strict: bool = False,
        progress: ProgressFn | None = None,
    ) -> IngestSummary:
        """Ingest files (`-` is stdin) in the source's format, streaming."""
        data_source = self.source(source)
        inputs = open_file_inputs([str(p) for p in paths], ReadOptions.of(data_source))
        return self.ingest_inputs(source, inputs, strict=strict, progress=progress)

    def ingest_inputs(
        self,
        source: str,
        inputs: Sequence[Input],
        *,
        strict: bool = False,
        progress: ProgressFn | None = None,
    ) -> IngestSummary:
        data_source = self.source(source)
        extractor = self.extractor(data_source)
        service = IngestService(
            self.storage, lambda _: extractor, parallel=self._parallel,
            on_changes=event_writer(), mode=self.write_mode,
        )  # fmt: skip
        return service.ingest(data_source, inputs, strict=strict, progress=progress)

    def ingest_group(
        self, source: str, requests: Sequence[Sequence[Input]]
    ) -> list[IngestSummary | Exception]:
        """Several small ingests in one transaction (one commit), each with its own run
        and summary, or in its place the exception that its input raised."""
        data_source = self.source(source)
        extractor = self.extractor(data_source)
        service = IngestService(
            self.storage, lambda _: extractor, parallel=None, on_changes=event_writer(),
            mode=self.write_mode,
        )  # fmt: skip
        return service.ingest_group(data_source, requests)

    # --- reads -------------------------------------------------------------------------------

    def get(self, srn: str) -> Record:
        record = self.storage.get_record(self._convention_of(srn), srn)
        if record is None:
            raise RecordNotFoundError(f"no record {srn}")
        return record

    def history(self, srn: str) -> list[Record]:
        versions = self.storage.record_history(self._convention_of(srn), srn)
        if not versions:
            raise RecordNotFoundError(f"no record {srn}")
        return versions

    def records(
        self,
        convention: str,
        *,
        limit: int | None = None,
        after: str | None = None,
        where: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        time_column: str | None = None,
        sort: str | None = None,
        desc: bool = False,
    ) -> Iterator[Record]:
        """Records of a convention, filtered on declared columns (`where`: `col=v`,
        `col>v`, `col in a,b`; `since`/`until` on a timestamp column), in srn order or
        by `sort`; `after` (an srn of that convention) starts after it. A bad filter or
        cursor raises (QueryError, InvalidCursorError) before anything is read."""
        conv = self.settings.convention(convention)
        query = record_query(
            conv, where, since=since, until=until, time_column=time_column, sort=sort, desc=desc
        )
        if after is not None:
            check_cursor(conv.name, after)
        return self.storage.list_records(conv, limit, after, query)

    def count(
        self,
        convention: str,
        *,
        where: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        time_column: str | None = None,
        data_sources: Iterable[str] = (),
    ) -> int:
        """How many records `records(...)` with these filters would give (only those of
        `data_sources` when given)."""
        conv = self.settings.convention(convention)
        query = record_query(
            conv,
            where,
            since=since,
            until=until,
            time_column=time_column,
            data_sources=data_sources,
        )
        return self.storage.count_records(conv, query)

    def raw(self, source: str, source_id: str) -> list[RawPayload]:
        self.source(source)
        return self.storage.raw_payloads(source, source_id)

    def quarantine(self, source: str, status: str | None = "open") -> list[QuarantineEntry]:
        self.source(source)
        return self.storage.quarantine_entries(source, status)

    def stats(self) -> dict[str, dict[str, int]]:
        return self.storage.stats({s.name: s.convention for s in self.settings.sources.values()})

    def _convention_of(self, srn: str) -> Any:
        try:
            name = convention_of(srn)
        except ValueError as exc:
            raise RecordNotFoundError(str(exc)) from None
        return self.settings.convention(name)

    # --- raw-store operations ----------------------------------------------------------------

    def replay(
        self,
        source: str,
        *,
        entity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        extractor_version: str | None = None,
        dry_run: bool = False,
        progress: ReplayProgressFn | None = None,
    ) -> ReplaySummary:
        """Re-extract a raw source's window with its current extractor (see ReplayService)."""
        data_source = self.source(source)
        window = RawWindow(
            data_source.name,
            entity,
            iso(since) if since is not None else None,
            iso(until) if until is not None else None,
            extractor_version,
        )
        return self._replay_service().replay(
            data_source, window, dry_run=dry_run, progress=progress
        )

    def quarantine_entry(self, entry_id: int) -> QuarantineDetail:
        found = self.storage.raw_operations().quarantine_entry(entry_id)
        if found is None:
            raise RecordNotFoundError(f"no quarantine entry #{entry_id}")
        return found

    def quarantine_replay(
        self, source: str, ids: Sequence[int] | None = None, *, dry_run: bool = False
    ) -> ReplaySummary:
        """Extract a source's open quarantine entries again; release those that pass."""
        data_source = self.source(source)
        return self._replay_service().replay_quarantine(data_source, ids, dry_run=dry_run)

    def quarantine_discard(
        self, ids: Sequence[int], *, reason: str, actor: str = "cli"
    ) -> list[int]:
        return QuarantineService(self.storage).discard(ids, reason=reason, actor=actor)

    def retention_run(self, *, dry_run: bool = False, actor: str = "cli") -> list[RetentionReport]:
        """Purge expired raw rows of every raw source with `retention_days` (audited)."""
        sources = list(self.settings.sources.values())
        return RetentionService(self.storage).run(sources, dry_run=dry_run, actor=actor)

    def retention_audit(
        self, source: str | None = None, *, limit: int = 100
    ) -> list[RetentionAuditEntry]:
        if source is not None:
            self.source(source)
        return self.storage.raw_operations().audit(source, limit)

    def raw_hold(
        self,
        source: str,
        *,
        source_id: str | None = None,
        until: datetime | None = None,
        reason: str | None = None,
        actor: str = "cli",
    ) -> RawHold:
        """Keep a raw source's rows (or one source id's) from retention until released
        (or until `until`)."""
        data_source = self.source(source)
        if not data_source.is_raw:
            raise NotRawSourceError(f"{source} is a simple source: it keeps no raw rows to hold")
        ops = self.storage.raw_operations()
        with ops.session() as session:
            hold_id = session.add_hold(
                source, source_id, iso(until) if until else None, reason, actor, iso(utc_now())
            )
        return next(h for h in ops.holds(source, None) if h.id == hold_id)

    def raw_holds(self, source: str | None = None, *, active: bool = False) -> list[RawHold]:
        if source is not None:
            self.source(source)
        return self.storage.raw_operations().holds(source, iso(utc_now()) if active else None)

    def raw_release(self, hold_id: int, *, actor: str = "cli") -> RawHold:
        ops = self.storage.raw_operations()
        with ops.session() as session:
            released = session.release_hold(hold_id, actor, iso(utc_now()))
        found = [h for h in ops.holds(None, None) if h.id == hold_id]
        if not found:
            raise RecordNotFoundError(f"no raw hold #{hold_id}")
        if not released:
            raise HoldReleasedError(f"raw hold #{hold_id} was released already")
        return found[0]

    def migrate_source(self, source: str, to: str) -> MigrationSummary:
        """Move a simple source to raw (synthesized raw rows, then the config file)."""
        data_source = self.source(source)
        target = StorageStrategy(to)
        refuse(data_source, target)
        summary = StrategyMigrationService(self.storage).to_raw(
            data_source, self.extractor(data_source)
        )
        summary.config_change = f"{self.settings.path}: sources.{source}.strategy: {target.value}"
        summary.config_written = write_source_key(self.settings, source, "strategy", target.value)
        return summary

    def extractor_status(self) -> list[ExtractorStatus]:
        """Per source: records by extractor version, and how many are stale."""
        return extractor_status(self.storage, list(self.settings.sources.values()), self.extractor)

    def _replay_service(self) -> ReplayService:
        return ReplayService(self.storage, self.extractor, on_changes=event_writer())

    # --- schema ------------------------------------------------------------------------------

    def schema_upgrade(self, revision: str = "head") -> tuple[str | None, str | None]:
        before = self.storage.schema_revision()
        self.storage.upgrade(revision)
        self.storage.ensure_conventions(list(self.settings.conventions.values()))
        return before, self.storage.schema_revision()

    def schema_downgrade(self, revision: str) -> tuple[str | None, str | None]:
        before = self.storage.schema_revision()
        self.storage.downgrade(revision)
        return before, self.storage.schema_revision()

    def schema_current(self) -> tuple[str | None, str]:
        return self.storage.schema_revision(), HEAD

    # --- records: publish, update, features -------------------------------------------------

    @property
    def _publisher(self) -> PublishService:
        found = self._publish_service
        if found is None or found.storage is not self.storage:
            found = self._publish_service = PublishService(self.storage, self.settings.convention)
        return found

    def publish_record(
        self,
        convention: str,
        source: RecordSource | Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Record:
        """Publish one record from any pathway (deposition, harvest, fork, import).

        Idempotent: one record per (convention, source type, source id); the same content
        again writes nothing, changed content is a new version. Declared columns are read
        from `metadata` (required columns and types as for ingest); the metadata is kept
        whole. Its RecordPublished / RecordUpdated event is written in the same
        transaction."""
        return self.get(self._publisher.publish(convention, source, metadata))

    def bulk_publish(
        self,
        convention: str,
        items: Iterable[tuple[RecordSource | Mapping[str, Any], Mapping[str, Any]]],
        *,
        strict: bool = False,
    ) -> PublishSummary:
        """Publish many (source, metadata) items in batches, through the same upsert as
        file ingest. Bad items are skipped and reported (index, reason); with `strict`
        the first one rolls everything back (StrictModeError)."""
        return self._publisher.bulk_publish(convention, items, strict=strict)

    def update(self, srn: str, metadata: Mapping[str, Any], expected_version: int) -> Record:
        """Replace a record's metadata (columns re-read from it) if the record is still at
        `expected_version`, keeping the previous version in history. A stale version
        raises ConflictError naming both versions, and nothing is written."""
        self._publisher.update(srn, metadata, expected_version)
        return self.get(srn)

    def features(self, srn: str) -> list[Feature]:
        """What hooks produced for a record, every version (oldest first)."""
        self.get(srn)
        return self.storage.lifecycle().features(srn)

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

    def pending_events(self) -> int:
        """Events in the outbox waiting for delivery (leased ones included)."""
        return self.storage.lifecycle().pending_events()

    def hook_runs(self, failed_only: bool = False, *, limit: int | None = None) -> list[HookRun]:
        """Hook runs, oldest first (the latest `limit` when given)."""
        return self.storage.lifecycle().hook_runs(failed_only, limit)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        dispatchers, self._dispatchers = self._dispatchers, []
        for dispatcher in dispatchers:
            dispatcher.close()
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._storage is not None:
            self._storage.close()
            self._storage = None

    def __enter__(self) -> Store:
        return self

    # --- jobs, API keys, idempotency keys, export (API and worker) ---------------------------

    @property
    def control(self) -> ControlPorts:
        """The control tables, on a pooled connection safe to share between threads
        (opened after the storage, which migrates an empty database first)."""
        if self._control is None:
            _ = self.storage
            self._control = build_control(self.settings)
        return self._control

    def jobs(self) -> JobService:
        return JobService(self.control.jobs, max_attempts=self.settings.jobs.max_attempts)

    def api_keys(self) -> KeyService:
        return KeyService(self.control.keys)

    def create_api_key(
        self, name: str, sources: Sequence[str], *, admin: bool = False
    ) -> tuple[ApiKey, str]:
        """A new key for registered sources; returns it and its token (shown once)."""
        for source in sources:
            self.source(source)
        return self.api_keys().create(name, sources, admin=admin)

    def idempotency(self) -> IdempotencyService:
        return IdempotencyService(self.control.idempotency)

    def data_file(self, relative: str) -> Path:
        """A file under the data root (no `..`, no symlink escape)."""
        return data_file(self.settings, relative)

    def export(
        self,
        *,
        source: str | None = None,
        convention: str | None = None,
        progress: ExportProgress | None = None,
    ) -> ExportSummary:
        """Write a source's (or a whole convention's) records as JSON Lines under
        `data/processed/`, atomically; returns where and how many."""
        if (source is None) == (convention is None):
            raise InputError("export needs exactly one of a source or a convention")
        name = self.source(source).convention if source is not None else str(convention)
        conv = self.settings.convention(name)
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
        path = self.settings.data_dir / "processed" / f"{source or name}_{stamp}.jsonl"
        summary = ExportSummary(str(path), conv.name, source)
        return export_records(
            self.records(conv.name), lambda: export_file(path), summary, progress=progress
        )

    def ping(self) -> None:
        """Raise unless the database answers."""
        self.control.ping()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_store(
    config: Settings | str | os.PathLike[str] | None = None,
    *,
    auto_upgrade: bool = True,
    prepare: bool = True,
) -> Store:
    """Open a store from settings or a config path (default: INGESTRY_CONFIG or ./ingestry.yaml)."""
    settings = (
        config
        if isinstance(config, Settings)
        else load_settings(Path(config) if config is not None else None)
    )
    return Store(
        settings, lambda: build_storage(settings, auto_upgrade=auto_upgrade, prepare=prepare)
    )
