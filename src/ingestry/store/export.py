"""The facade's export methods: records as JSONL/CSV/Parquet, raw payloads as a bundle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingestry.domain.clock import iso
from ingestry.domain.errors import InputError
from ingestry.store.core import StoreCore

if TYPE_CHECKING:
    from ingestry.services.export import ExportProgress, ExportSummary
    from ingestry.services.export_raw import RawExportSummary


class ExportArea(StoreCore):
    """Exports (CLI `export`, the API's export job, Python)."""

    def export(
        self,
        source: str | None = None,
        *,
        convention: str | None = None,
        format: str = "jsonl",
        out: str | Path | None = None,
        where: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        time_column: str | None = None,
        progress: ExportProgress | None = None,
        current_only: bool = False,
        include_deleted: bool = False,
    ) -> ExportSummary:
        """Write a source's (or a whole convention's) records, filtered like `records`,
        as one `jsonl`, `csv` or `parquet` file in `out` (default `data/processed/`),
        named `{source}_{entity}_{start}_{end}.{ext}`; it appears whole or not at all.
        Each record's earlier versions come before it (oldest first) unless
        `current_only`: `import` restores that history. Soft-deleted records are left
        out unless `include_deleted`: then their tombstones are written too, marked
        `deleted` (who, when, why), and `import` deletes them in the target."""
        from ingestry.bootstrap import export_files
        from ingestry.services.export_run import FORMATS, RecordExport, export_records
        from ingestry.services.query import record_query

        if (source is None) == (convention is None):
            raise InputError("export needs exactly one of a source or a convention")
        if format not in FORMATS:
            raise InputError(f"unknown export format '{format}': use one of {', '.join(FORMATS)}")
        name = self.source(source).convention if source is not None else str(convention)
        conv = self.settings.convention(name)
        query = record_query(
            conv,
            where,
            since=since,
            until=until,
            time_column=time_column,
            data_sources=[source] if source is not None else (),
        )
        if include_deleted:
            query = replace(query, include_deleted=True)
        job = RecordExport(
            conv,
            source or conv.name,
            source,
            format,
            self._export_dir(out),
            lambda names: self.storage.scan_columns(conv, names, query),
            lambda names: self.storage.decimal_shapes(conv, names),
            self.storage.node_id(),
            None if current_only else lambda srns: self.storage.earlier_versions(conv, srns),
            self.storage.deletion().tombstones if include_deleted else None,
        )
        return export_records(job, export_files(), progress=progress)

    def export_raw(
        self,
        source: str,
        *,
        out: str | Path | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: ExportProgress | None = None,
    ) -> RawExportSummary:
        """Write a raw source's payloads (received in [since, until)) with every receipt
        as a raw bundle in `out` (default `data/processed/{source}_raw/`): the format
        `import` reads, described in docs/export.md."""
        from ingestry.bootstrap import export_files
        from ingestry.services.export_raw import RawExport, export_raw
        from ingestry.services.ports import RawWindow
        from ingestry.services.replay import NotRawSourceError

        data_source = self.source(source)
        if not data_source.is_raw:
            raise NotRawSourceError(
                f"source '{source}' is simple: it keeps no raw payloads to export;"
                " export its records instead (--format jsonl|csv|parquet)"
            )
        window = RawWindow(
            data_source.name,
            None,
            iso(since) if since is not None else None,
            iso(until) if until is not None else None,
        )
        directory = self._export_dir(out, f"{data_source.name}_raw")
        job = RawExport(
            data_source.name, data_source.convention, window, directory, self.storage.node_id()
        )
        raw = self.storage.raw_operations()
        return export_raw(job, raw, export_files().open_file, progress=progress)

    def _export_dir(self, out: str | Path | None, default: str | None = None) -> Path:
        if out is not None:
            return Path(out)
        processed = self.settings.data_dir / "processed"
        return processed / default if default is not None else processed
