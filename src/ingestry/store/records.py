"""The facade's record methods: reads, queries, publish, update, features."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import islice
from typing import TYPE_CHECKING, Any

from ingestry.domain.errors import (
    InputError,
    RecordNotFoundError,
)
from ingestry.domain.records import record_srn
from ingestry.domain.runs import Every, RunKind
from ingestry.services.deletion import DELETE_PAGE
from ingestry.store.control import ControlArea

if TYPE_CHECKING:
    from ingestry.domain.erasure import ErasureAudit
    from ingestry.domain.features import Feature
    from ingestry.domain.payloads import QuarantineEntry, RawPayload
    from ingestry.domain.provenance import RecordSource
    from ingestry.domain.records import Record
    from ingestry.domain.runs import Run, StatsBucket
    from ingestry.services.deletion import DeleteReport, DeletionService
    from ingestry.services.erasure import ErasureReport
    from ingestry.services.publish import PublishService, PublishSummary


class RecordArea(ControlArea):
    """Records: read, query, publish, update."""

    # --- reads -------------------------------------------------------------------------------

    def get(self, srn: str, *, include_deleted: bool = False) -> Record:
        """The current version, through the record cache (docs/cache.md). A deleted
        record raises RecordDeletedError saying when and by whom, unless
        `include_deleted` (then its tombstone version, `deleted` set)."""
        convention = self._convention_of(srn)
        reads = self._cached_reads()
        if reads is None:
            record = self.storage.get_record(convention, srn)
        else:
            record = reads.get(srn, lambda: self.storage.get_record(convention, srn))
        if record is None:
            deletions = self._deletions
            tombstone = deletions.tombstone(srn) if include_deleted else None
            if tombstone is not None:
                return tombstone
            raise deletions.missing(srn)
        return record

    def history(self, srn: str) -> list[Record]:
        """Every version, oldest first; tombstones (soft deletes) have `deleted` set."""
        convention = self._convention_of(srn)
        reads = self._cached_reads()

        def load() -> list[Record]:
            versions = self.storage.record_history(convention, srn)
            return self._deletions.history(srn, versions)

        versions = load() if reads is None else reads.history(srn, load)
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
        bbox: str | None = None,
        geometry_column: str | None = None,
        include_deleted: bool = False,
    ) -> Iterator[Record]:
        """Records of a convention, filtered on declared columns (`where`: `col=v`,
        `col>v`, `col in a,b`; `since`/`until` on a timestamp column), in srn order or
        by `sort`; `bbox` (`MINX,MINY,MAXX,MAXY`) keeps those whose geometry (in
        `geometry_column`, default the only one) intersects the box, exactly (docs/geo.md);
        `after` (an srn of that convention) starts after it. A bad filter or
        cursor raises (QueryError, InvalidCursorError) before anything is read."""
        from ingestry.services.query import check_cursor, record_query

        conv = self.settings.convention(convention)
        query = record_query(
            conv,
            where,
            since=since,
            until=until,
            time_column=time_column,
            sort=sort,
            desc=desc,
            bbox=bbox,
            geometry_column=geometry_column,
        )
        if after is not None:
            check_cursor(conv.name, after)
        if include_deleted:  # tombstones too, marked (docs/deleting.md)
            query = replace(query, include_deleted=True)
            return self._marked(self.storage.list_records(conv, limit, after, query))
        return self.storage.list_records(conv, limit, after, query)

    def _marked(self, records: Iterator[Record], page: int = 500) -> Iterator[Record]:
        while chunk := list(islice(records, page)):
            yield from self._deletions.mark(chunk)

    def count(
        self,
        convention: str,
        *,
        where: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        time_column: str | None = None,
        data_sources: Iterable[str] = (),
        bbox: str | None = None,
        geometry_column: str | None = None,
    ) -> int:
        """How many records `records(...)` with these filters would give (only those of
        `data_sources` when given)."""
        from ingestry.services.query import record_query

        conv = self.settings.convention(convention)
        query = record_query(
            conv,
            where,
            since=since,
            until=until,
            time_column=time_column,
            data_sources=data_sources,
            bbox=bbox,
            geometry_column=geometry_column,
        )
        return self.storage.count_records(conv, query)

    def raw(self, source: str, source_id: str) -> list[RawPayload]:
        """The payloads received for a source id, ordered by their latest receipt: the
        last one was received last and drives the record (see docs/receipts.md)."""
        self.source(source)
        return self.storage.raw_payloads(source, source_id)

    def quarantine(self, source: str, status: str | None = "open") -> list[QuarantineEntry]:
        self.source(source)
        return self.storage.quarantine_entries(source, status)

    def stats(self) -> dict[str, dict[str, int]]:
        return self.storage.stats({s.name: s.convention for s in self.settings.sources.values()})

    def runs(
        self,
        source: str | Sequence[str] | None = None,
        kind: str | None = None,
        limit: int | None = 100,
    ) -> list[Run]:
        """Runs newest first (ingest, replay, harvest), of one source (or several) and
        one kind when given."""
        from ingestry.services.runs import RunsService

        sources = self._sources(source)
        return RunsService(self.storage).runs(sources, RunKind(kind) if kind else None, limit)

    def run(self, srn: str) -> Run:
        from ingestry.services.runs import RunsService

        return RunsService(self.storage).run(srn)

    def stats_over_time(
        self, every: str, source: str | Sequence[str] | None = None, since: str | None = None
    ) -> list[StatsBucket]:
        """Ingest counters per bucket (`hour`, `day`, `week`, UTC) and source."""
        from ingestry.services.runs import RunsService

        return RunsService(self.storage).stats(Every(every), self._sources(source), since)

    def _sources(self, source: str | Sequence[str] | None) -> list[str] | None:
        """Names checked against the registry (a typo is an error, not an empty list)."""
        if source is None:
            return None
        names = [source] if isinstance(source, str) else list(source)
        return [self.source(name).name for name in names]

    # --- records: publish, update, features -------------------------------------------------

    @property
    def _publisher(self) -> PublishService:
        from ingestry.services.publish import PublishService

        found = self._publish_service
        if found is None or found.storage is not self.storage:
            cache = self.record_cache
            found = self._publish_service = PublishService(
                self.storage, self.settings.convention,
                committed=cache.advance if cache is not None else None,
            )  # fmt: skip
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

    # --- soft delete (docs/deleting.md) ------------------------------------------------------

    @property
    def _deletions(self) -> DeletionService:
        from ingestry.services.deletion import DeletionService

        return DeletionService(self.storage, self.settings.convention)

    def delete(self, srn: str, *, reason: str | None = None, actor: str = "python") -> DeleteReport:
        """Soft-delete a record: a tombstone version (who, when, why) hides it from
        lists, counts, exports and queries; its history stays; a RecordDeleted event
        goes out. Deleting it again is a no-op (`already`). New content for its id
        brings it back as the next version; replay does not."""
        report = self._deletions.delete(srn, reason=reason, actor=actor)
        cache = self.record_cache
        if cache is not None and not report.already:
            cache.advance([(srn, report.deletion.version)])  # read-your-writes
        return report

    def delete_matching(
        self,
        convention: str,
        *,
        where: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        time_column: str | None = None,
        reason: str | None = None,
        actor: str = "python",
        after: str | None = None,
    ) -> Iterator[DeleteReport]:
        """Soft-delete the live records `records(convention, where=…, since=…)` lists
        (at least one filter: deleting a whole convention is not a typo's job), in srn
        order, one transaction each, reading DELETE_PAGE srns at a time (memory does not
        grow with the selection). `after` (an srn) resumes past it: a delete job's
        takeover. Deleted records leave the selection, so a second run deletes only
        what matches and is still live. A bad filter raises before anything is deleted."""
        if not (where or since or until):
            raise InputError(
                "a delete by selection needs a filter (--where, --since or --until); "
                "name srns to delete single records"
            )

        def page(start: str | None) -> list[str]:
            found = self.records(
                convention, limit=DELETE_PAGE, after=start, where=where, since=since,
                until=until, time_column=time_column,
            )  # fmt: skip
            return [r.srn for r in found]

        first = page(after)  # raises QueryError here, not at the first next()

        def run(srns: list[str]) -> Iterator[DeleteReport]:
            while srns:
                for srn in srns:
                    yield self.delete(srn, reason=reason, actor=actor)
                srns = page(srns[-1]) if len(srns) == DELETE_PAGE else []

        return run(first)

    # --- erasure (docs/erasure.md) -----------------------------------------------------------

    def erase(
        self,
        srn: str | None = None,
        *,
        source: str | None = None,
        source_id: str | None = None,
        reason: str,
        actor: str = "python",
    ) -> ErasureReport:
        """Erase a record (by srn, or by data source and id as read from the data): the
        record, its versions, events, hook runs, features and the raw payloads of its
        id, with an audit row of hashes. A legal hold refuses it (ErasureBlockedError)."""
        from ingestry.services.erasure import ErasureService
        from ingestry.services.harvest_kept import KeptPages

        target = srn if srn is not None else self.srn_of(source, source_id)
        pages = KeptPages(self._harvest_ledger(), self._run_locks(), self.extractor)
        service = ErasureService(
            self.storage, self.settings.convention, self.settings.sources, pages=pages
        )
        report = service.erase(target, reason=reason, actor=actor)
        cache = self.record_cache
        if cache is not None:
            cache.forget([target])
        return report

    def erasures(self, srn: str | None = None, *, limit: int | None = 100) -> list[ErasureAudit]:
        """Erasure audit rows, newest first (one record's, by its srn, when given)."""
        from ingestry.services.erasure import ErasureService

        service = ErasureService(self.storage, self.settings.convention, self.settings.sources)
        return service.audits(srn, limit)

    def srn_of(self, source: str | None, source_id: str | None) -> str:
        """The srn of the record a data source makes of an id (harvest provenance)."""
        if source is None or source_id is None:
            raise InputError("name the record: an srn, or a data source and an id")
        data_source = self.source(source)
        return record_srn(data_source.convention, "harvest", data_source.name, source_id)

    def features(self, srn: str) -> list[Feature]:
        """What hooks produced for a record, every version (oldest first)."""
        self.get(srn)
        return self.storage.lifecycle().features(srn)
