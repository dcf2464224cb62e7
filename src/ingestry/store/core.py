"""The store's core: settings, the storage opened on first use, sources and extractors,
the schema, closing. Every area of the facade (`store/*.py`) builds on it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from ingestry.bootstrap import (
    build_extractor_registry,
    build_parallel,
    build_record_cache,
    build_write_mode,
    compile_extractor,
    parallel_min_bytes,
)
from ingestry.domain.errors import RecordNotFoundError
from ingestry.domain.records import convention_of
from ingestry.migrations import HEAD
from ingestry.services.cache import CachedReads, WrittenChanges
from ingestry.services.outbox import event_writer

if TYPE_CHECKING:
    from ingestry.config import Settings
    from ingestry.domain.sources import DataSource
    from ingestry.extract.compiler import Extractor
    from ingestry.services.control import ControlPorts
    from ingestry.services.dispatch import EventDispatcher
    from ingestry.services.ports import OnChanges, RecordCache, Storage
    from ingestry.services.publish import PublishService
    from ingestry.services.writemode import WriteMode


class StoreCore:
    """What every area of the facade shares."""

    def __init__(self, settings: Settings, open_storage: Callable[[], Storage]) -> None:
        self.settings = settings
        self._open_storage = open_storage
        self._storage: Storage | None = None
        self._registry = build_extractor_registry(settings)
        self._extractors: dict[str, Extractor] = {}
        self._parallel = build_parallel(database_url=settings.database_url)
        self._parallel_min_bytes = parallel_min_bytes()
        self._publish_service: PublishService | None = None
        self._dispatchers: list[EventDispatcher] = []
        self._control: ControlPorts | None = None
        self._write_mode: WriteMode | None = None
        self._cache: RecordCache | bool | None = False  # False: not built yet

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

    # --- the record cache ---------------------------------------------------------------

    @property
    def record_cache(self) -> RecordCache | None:
        """This process's record cache (shared by every Store on this database), or
        None when `cache: none`. Its `stats()` are the hits, misses, invalidations."""
        if self._cache is False:
            self._cache = build_record_cache(self.settings)
        return self._cache if not isinstance(self._cache, bool) else None

    def _cached_reads(self) -> CachedReads | None:
        cache = self.record_cache
        return CachedReads(cache) if cache is not None else None

    def _outbox(self) -> tuple[OnChanges, WrittenChanges | None]:
        """The outbox writer for a write, wrapped to note what the cache must drop
        after commit (`settle` it when the write returns)."""
        cache = self.record_cache
        if cache is None:
            return event_writer(), None
        noted = WrittenChanges(cache, event_writer())
        return noted, noted

    def _advance(self, srn: str, version: int) -> None:
        """Read-your-writes: after a committed write of `srn` at `version`."""
        cache = self.record_cache
        if cache is not None:
            cache.advance([(srn, version)])

    # --- limits -------------------------------------------------------------------------

    def limited(self, kind: Literal["request", "job"]) -> AbstractContextManager[None]:
        """The statement timeout of an API request or a job (`limits:`), for a block of
        calls on this store; StatementTimeoutError names the setting (docs/limits.md)."""
        limits = self.settings.limits
        if kind == "request":
            seconds = limits.statement_timeout_seconds
            setting = "limits.statement_timeout_seconds / INGESTRY_STATEMENT_TIMEOUT"
        else:
            seconds = limits.job_statement_timeout_seconds
            setting = "limits.job_statement_timeout_seconds / INGESTRY_JOB_STATEMENT_TIMEOUT"
        return self.storage.statement_limit(seconds, setting)

    # --- sources and extractors ---------------------------------------------------------

    def source(self, name: str) -> DataSource:
        return self.settings.source(name)

    def extractor(self, source: DataSource) -> Extractor:
        found = self._extractors.get(source.name)
        if found is None:
            found = compile_extractor(self.settings, self._registry, source)
            self._extractors[source.name] = found
        return found

    def _convention_of(self, srn: str) -> Any:
        try:
            name = convention_of(srn)
        except ValueError as exc:
            raise RecordNotFoundError(str(exc)) from None
        return self.settings.convention(name)

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

    def node_id(self) -> str:
        """This store's stable node id (`node-<hex>`): what exports name as their node
        and what other stores record as `source_node` when they import or fork from it."""
        return self.storage.node_id()

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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
