"""The facade's ingest methods: files, in-memory payloads, inputs, API groups."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ingestry.bootstrap import (
    open_file_inputs,
)
from ingestry.domain.sources import SourceFormat
from ingestry.services.ingest import IngestService
from ingestry.services.inputs import ReadOptions
from ingestry.services.payloads import CSVRowsInput, PayloadInput
from ingestry.store.core import StoreCore

if TYPE_CHECKING:
    from ingestry.services.ingest import IngestSummary
    from ingestry.services.inputs import Input
    from ingestry.services.preparation import ProgressFn


class IngestArea(StoreCore):
    """Ingest into a source."""

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
        on_changes, noted = self._outbox()
        service = IngestService(
            self.storage, lambda _: extractor, parallel=self._parallel,
            parallel_threshold=self._parallel_min_bytes,
            on_changes=on_changes, mode=self.write_mode,
        )  # fmt: skip
        try:
            return service.ingest(data_source, inputs, strict=strict, progress=progress)
        finally:
            if noted is not None:
                noted.settle()

    def ingest_group(
        self, source: str, requests: Sequence[Sequence[Input]]
    ) -> list[IngestSummary | Exception]:
        """Several small ingests in one transaction (one commit), each with its own run
        and summary, or in its place the exception that its input raised."""
        data_source = self.source(source)
        extractor = self.extractor(data_source)
        on_changes, noted = self._outbox()
        service = IngestService(
            self.storage, lambda _: extractor, parallel=None, on_changes=on_changes,
            mode=self.write_mode,
        )  # fmt: skip
        try:
            return service.ingest_group(data_source, requests)
        finally:
            if noted is not None:
                noted.settle()
