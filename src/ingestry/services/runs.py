"""Runs and counts over time: what `runs list/show` and `stats --every` ask of storage."""

from __future__ import annotations

from collections.abc import Sequence

from ingestry.domain.errors import QueryError, RunNotFoundError
from ingestry.domain.runs import Every, Run, RunKind, StatsBucket
from ingestry.extract.coerce import CoercionError, to_timestamp
from ingestry.services.ports import Storage


def canonical_since(text: str | None) -> str | None:
    """`--since 2026-11-01` (UTC midnight), `…T10:00+02:00`: the stored timestamps'
    own fixed-width UTC spelling, so SQLite compares text and PostgreSQL instants."""
    if text is None:
        return None
    try:
        return to_timestamp(text)
    except CoercionError as exc:
        raise QueryError(f"--since {text!r}: {exc}") from None


class RunsService:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def runs(
        self,
        sources: Sequence[str] | None = None,
        kind: RunKind | None = None,
        limit: int | None = 100,
    ) -> list[Run]:
        return self.storage.list_runs(sources, kind, limit)

    def run(self, srn: str) -> Run:
        found = self.storage.get_run(srn)
        if found is None:
            raise RunNotFoundError(f"no run {srn} (ingestry runs list shows the runs)")
        return found

    def stats(
        self, every: Every, sources: Sequence[str] | None = None, since: str | None = None
    ) -> list[StatsBucket]:
        return self.storage.run_stats(every, sources, canonical_since(since))
