"""The facade's data out and back in: read-only SQL in DuckDB over the records and
Parquet files, and importing a records export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ingestry.domain.errors import InputError
from ingestry.domain.sources import SourceFormat
from ingestry.store.ingest import IngestArea
from ingestry.store.raw import RawArea
from ingestry.store.records import RecordArea

if TYPE_CHECKING:
    from ingestry.domain.deletion import DeletionDraft
    from ingestry.services.bundles import (
        Arrivals,
        BundlePayload,
    )
    from ingestry.services.importer import ImportSummary
    from ingestry.services.ingest import IngestSummary
    from ingestry.services.ports import QueryResult, SqlEngine
    from ingestry.services.query_copy import QueryCopies
    from ingestry.services.query_sql import SqlQueryService


class AnalyticsArea(IngestArea, RecordArea, RawArea):
    """`query`: one view per convention the SQL names, fed from storage through Arrow."""

    def _engine(self) -> SqlEngine:
        """One engine per store, kept (its DuckDB database costs ~20-70 ms to open)."""
        from ingestry.bootstrap import build_sql_engine

        engine: SqlEngine | None = getattr(self, "_sql_engine", None)
        if engine is None:
            engine = build_sql_engine()
            self._sql_engine = engine
        return engine

    def _sql(self, copy: bool = False) -> SqlQueryService:
        from ingestry.services.query_sql import SqlQueryService

        copies = self.query_copies() if copy else None
        return SqlQueryService(
            self.storage,
            self.settings.conventions,
            self._engine(),
            copy_file=None if copies is None else (lambda name: copies.fresh(name).file),
        )

    def query_copies(self) -> QueryCopies:
        """The Parquet copies beside the store (`data/query_copies/`), kept fresh."""
        from ingestry.bootstrap import build_copy_store
        from ingestry.services.query_copy import QueryCopies

        return QueryCopies(
            self.storage, self.settings.conventions, build_copy_store(self.settings.data_dir)
        )

    def query_result(self, sql: str, *, copy: bool = False) -> QueryResult:
        """Column names and rows (exact decimals stay Decimal). QueryError when the SQL
        writes, is more than one statement, or fails (DuckDB's message kept). `copy`:
        read each convention from its Parquet copy, rebuilt first when the store
        changed since it was taken (docs/data-out.md, "Parquet copies")."""
        return self._sql(copy).run(sql)

    def query_for(
        self,
        sql: str,
        readable: Iterable[str] | None,
        *,
        timeout: float | None,
        limit: int | None = None,
    ) -> QueryResult:
        """`query_result` for a caller that may query only the conventions `readable`
        (None: all), reading no file or URL, interrupted after `timeout` seconds
        (StatementTimeoutError): the API's `POST /v1/query`."""
        from ingestry.bootstrap import build_sql_engine
        from ingestry.services.query_sql import SqlQueryService

        engine = build_sql_engine(files=False, timeout=timeout)
        service = SqlQueryService(
            self.storage, self.settings.conventions, engine, readable=readable
        )
        return service.run(sql, limit)

    def query(self, sql: str, *, copy: bool = False) -> list[dict[str, Any]]:
        """The rows of a read-only SELECT as dicts, column name → value."""
        result = self.query_result(sql, copy=copy)
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]

    def query_arrow(self, sql: str, *, copy: bool = False) -> Any:
        """The result as a pyarrow Table."""
        return self._sql(copy).arrow(sql)

    def query_into(self, sql: str, source: str, *, strict: bool = False) -> IngestSummary:
        """Ingest the result rows, one JSON object each, into a simple json/jsonl source
        (analyse, then write results back as records of their own)."""
        from ingestry.services.query_sql import check_into, result_documents

        check_into(self.source(source))
        result = self.query_result(sql)
        return self.ingest(source, result_documents(result), strict=strict)

    def import_export(
        self, path: str, *, as_import: str | Literal[True] | None = None
    ) -> ImportSummary:
        """Load a records export (`records list --json` lines, or the directory export
        wrote): provenance, srn, data source, metadata and columns kept; with
        `as_import` as `import` records instead, `source_node` the node id given, or
        (`True`) the one each file's manifest names (`export` writes it)."""
        from ingestry.bootstrap import (
            build_block_map,
            export_blocks,
            export_nodes,
            open_raw_bundle,
        )
        from ingestry.services.importer import ImportService

        bundle = open_raw_bundle(path)
        if bundle is not None:
            if as_import is not None:
                raise InputError("--as-import is for a records export, not a raw bundle")
            return self._import_bundle(path, *bundle)
        nodes = export_nodes(path) if as_import is True else None  # all known before a write
        node = as_import if isinstance(as_import, str) else None
        blocks, size = export_blocks(path)
        # a large export's lines are parsed in worker processes, as an ingest's batches
        parallel = build_block_map() if size >= self._parallel_min_bytes else None
        service = ImportService(self._publisher, self._current_version, self._delete_imported)
        return service.import_blocks(path, blocks, as_import=node, nodes=nodes, parallel=parallel)

    def import_path(self, relative: str) -> Path:
        """A file or directory under `data/processed/` (no `..`, no symlink escape, a
        directory's files included): what an import job reads."""
        from ingestry.bootstrap import import_path

        return import_path(self.settings.data_dir, relative)

    def _current_version(self, convention: str, srn: str) -> int | None:
        """Its tombstone's version for a deleted record: an import must not write an
        earlier version over a deletion (that would bring the record back)."""
        conv = self.settings.convention(convention)
        record = self.storage.get_record(conv, srn) or self.storage.deletion().deleted_record(
            conv, srn
        )
        return None if record is None else record.version

    def _delete_imported(self, convention: str, srn: str, draft: DeletionDraft) -> bool | None:
        """An exported tombstone, deleted here with its who/when/why (see importer)."""
        conv = self.settings.convention(convention)
        outcome = self.storage.deletion().delete_record(conv, srn, draft)
        if outcome is None:
            return None
        cache = self.record_cache
        if cache is not None and not outcome.already:
            cache.advance([(srn, outcome.deletion.version)])  # read-your-writes
        return not outcome.already

    def _import_bundle(
        self, path: str, source: str, lines: Iterable[tuple[str, int, bytes]]
    ) -> ImportSummary:
        """A raw bundle: its payloads ingested into its source (a CSV source's rows read
        again under their header), then the bundle's receipts in place of the import
        run's own."""
        from ingestry.bootstrap import raw_bundle_headers
        from ingestry.services.bundles import (
            BundleCSVInput,
            arrivals_of,
            bundle_documents,
            restore_receipts,
        )
        from ingestry.services.importer import ImportSummary

        data_source = self.source(source)
        if data_source.format not in (SourceFormat.JSON, SourceFormat.JSONL, SourceFormat.CSV):
            raise InputError(
                f"{path}: importing a raw bundle of a {data_source.format.value} source is "
                "not built yet (json, jsonl and csv sources are); see docs/data-out.md"
            )
        arrivals: list[Arrivals] = []

        def kept(payloads: Iterable[BundlePayload]) -> Iterator[BundlePayload]:
            for payload in payloads:
                arrivals.append(arrivals_of(payload))  # receipts only: bytes not held
                yield payload

        documents = kept(bundle_documents(lines))
        runs: list[IngestSummary] = []
        if data_source.format is SourceFormat.CSV:
            headers = raw_bundle_headers(path, source)
            # one ingest run per stretch of rows read under the same header
            for sha, rows in groupby(documents, key=lambda p: p.header_sha256):
                header = headers.get(sha or "")
                if header is None:
                    raise InputError(
                        f"{path}: a CSV row points at header {sha}, which the bundle's "
                        f"{source}_raw_headers.jsonl does not hold (damaged bundle?)"
                    )
                rows_bytes = (p.data for p in rows)
                name = f"{path}#{sha[:12] if sha else ''}"
                csv_input = BundleCSVInput(name, data_source, header, rows_bytes)
                runs.append(self.ingest_inputs(source, [csv_input]))
        else:
            runs.append(self.ingest(source, (p.data for p in documents)))
        done = runs[0]
        for part in runs[1:]:
            done.add(part)
            done.seconds += part.seconds
        with self.storage.raw_operations().session() as session:
            restore_receipts(session, source, [r.run_srn for r in runs], arrivals)
        if any(len(a[2]) > 1 for a in arrivals):
            # a payload received again later drives its record in the exporting store,
            # but the ingest above read it at its first arrival: replay lets the payload
            # of each id's latest receipt drive its record again (unchanged ids: nothing)
            replayed = self.replay(source)
            done.records_updated += replayed.records_updated
        return ImportSummary(
            path,
            records_created=done.records_created,
            records_updated=done.records_updated,
            records_unchanged=done.records_unchanged,
            raw_stored=done.raw_stored,
            raw_duplicates=done.raw_duplicates,
            received=done.received,
            quarantined=done.quarantined,
            conventions=[data_source.convention],
            seconds=done.seconds,
        )
