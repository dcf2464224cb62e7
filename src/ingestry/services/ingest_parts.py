"""Ingest by parts: runs whose caller opens and closes the run (an HTTP pull, page by
page) or that share one transaction (concurrent API requests), each part written in a
transaction of its own, on lanes when the storage has them (see `services.lanes`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from ingestry.domain.clock import run_srn
from ingestry.domain.sources import DataSource
from ingestry.services.batch import Provenance
from ingestry.services.ingest_units import UnitWriter
from ingestry.services.inputs import Input, UnframeableError
from ingestry.services.lanes import OrderedLanes
from ingestry.services.ports import PreparedBatch, Receipt, StorageSession
from ingestry.services.preparation import LeanPolicy, Preparation
from ingestry.services.rescan import RescanPolicy
from ingestry.services.runcontext import IngestSummary, ingest_run
from ingestry.services.spill import take_whole
from ingestry.services.supersede import supersede, with_overlaps
from ingestry.services.writemode import gc_paused

T = TypeVar("T")


class IngestParts(UnitWriter):
    """The part and group ingests of `IngestService` (one of its bases)."""

    def ingest_group(
        self, source: DataSource, requests: Sequence[Sequence[Input]]
    ) -> list[IngestSummary | Exception]:
        """Several small ingests (concurrent API requests) written in ONE transaction, so
        they share one commit (one fsync on SQLite) instead of three each; every request
        keeps its own run and summary. Each request's batches are prepared before the
        transaction opens, so a malformed body fails alone (its exception is returned in
        its place); a database failure fails the group, and nothing of it is written."""
        extractor = self.extractor_for(source)
        prepared: list[tuple[IngestSummary, list[PreparedBatch], list[str], float] | Exception]
        prepared = []
        parts: dict[str, list[IngestSummary]] = {}
        with gc_paused():
            for inputs in requests:
                started = time.perf_counter()
                run = run_srn("harvest-run", self.clock())
                provenance = Provenance.of(
                    "harvest", harvest_run_srn=run, upstream_source=source.name
                )
                try:
                    prep = self._preparation(source, extractor, provenance)
                    batches = _prepared_whole(prep, source, inputs)
                except Exception as exc:
                    prepared.append(exc)
                    continue
                summary = IngestSummary(source=source.name, run_srn=run)
                prepared.append((summary, batches, [i.name for i in inputs], started))
            with self.storage.session() as session:
                for item in prepared:
                    if isinstance(item, Exception):
                        continue
                    summary, batches, origins, started = item
                    receipt = Receipt(summary.run_srn)
                    with ingest_run(summary, origins, self.clock, session=session, started=started):
                        mine = parts[summary.run_srn] = [
                            self._write_unit(session, source, extractor, batch, receipt)
                            for batch in batches
                        ]
                        summary.count(mine)
        for item in prepared:  # a replay at commit recounts its batches
            if not isinstance(item, Exception):
                item[0].count(parts[item[0].run_srn])
        return [item if isinstance(item, Exception) else item[0] for item in prepared]

    def ingest_part(self, source: DataSource, inputs: Sequence[Input], run: str) -> IngestSummary:
        """`inputs` written in one transaction as a part of run `run`, which the caller
        opens and closes (an HTTP pull commits page by page: see services.harvest)."""
        return self.write_part(source, self.prepare_part(source, inputs, run), run)

    def prepare_part(
        self, source: DataSource, inputs: Sequence[Input], run: str
    ) -> list[PreparedBatch]:
        """The batches of `inputs` for `write_part`, prepared with no storage access (a
        harvest prepares page n+1 on its fetching thread while page n is written)."""
        extractor = self.extractor_for(source)
        provenance = Provenance.of("harvest", harvest_run_srn=run, upstream_source=source.name)
        return _prepared_whole(self._preparation(source, extractor, provenance), source, inputs)

    def write_part(
        self, source: DataSource, batches: Sequence[PreparedBatch], run: str
    ) -> IngestSummary:
        """Prepared batches written in one transaction, as a part of run `run`."""
        extractor = self.extractor_for(source)
        receipt = Receipt(run)
        with gc_paused(), self.storage.session() as session:
            parts = [self._write_unit(session, source, extractor, b, receipt) for b in batches]
        total = IngestSummary(source=source.name, run_srn=run)
        total.count(parts)  # after the commit: a replay at commit recounts its batches
        return total

    def part_preparation(self, source: DataSource, run: str) -> Preparation:
        """The preparation of run `run`'s parts in the worker processes, a part's input
        in one batch (an HTTP pull's page: see services.pullprep). Their time is to
        spare, so it takes work off the writer (`WriteMode.offload`)."""
        extractor = self.extractor_for(source)
        provenance = Provenance.of("harvest", harvest_run_srn=run, upstream_source=source.name)
        encoder = self.mode.offload
        return Preparation(
            source, extractor, provenance, batch_size=1 << 62, clock=self.clock,
            encode=None if encoder is None else encoder(extractor.convention),
        )  # fmt: skip

    def write_parts(
        self,
        source: DataSource,
        parts: Iterable[tuple[Sequence[PreparedBatch], T]],
        run: str,
        done: Callable[[IngestSummary, T], None],
    ) -> None:
        """Each part's batches written in one transaction of run `run`, committed in
        order; `done(counts, tag)` hears of each part once it committed, in order, on
        this thread. On a storage with lanes (PostgreSQL) a part whose keys touch none
        of those in flight is written beside them (see `services.lanes`). Leaving by an
        exception of `parts`, the parts already given still commit (and `done` hears of
        them) before it is raised."""
        extractor = self.extractor_for(source)
        receipt = Receipt(run)

        def write(session: StorageSession, batches: Sequence[PreparedBatch]) -> IngestSummary:
            units = [self._write_unit(session, source, extractor, b, receipt) for b in batches]
            total = IngestSummary(source=source.name, run_srn=run)
            total.count(units)
            return total

        lanes = self.mode.lanes
        with gc_paused():
            if lanes is None:
                for batches, tag in parts:
                    with self.storage.session() as session:
                        part = write(session, batches)
                    done(part, tag)
                return

            def committed(result: tuple[IngestSummary, T]) -> None:
                done(*result)

            def writer(
                batches: Sequence[PreparedBatch], tag: T
            ) -> Callable[[StorageSession], tuple[IngestSummary, T]]:
                return lambda session: (write(session, batches), tag)

            with OrderedLanes(lanes.lane_session, lanes.lanes, committed, lanes.blocked_by) as ln:
                for batches, tag in parts:
                    ln.submit(_keys_of(batches), writer(batches, tag))


def _keys_of(batches: Sequence[PreparedBatch]) -> frozenset[str | bytes] | None:
    """The keys of a part's batches (None: one of them does not know its keys)."""
    keys: set[str | bytes] = set()
    for batch in batches:
        if batch.keys is None or batch.headers:
            return None
        keys.update(batch.keys)
    return frozenset(keys)


def _prepared_whole(
    prep: Preparation, source: DataSource, inputs: Sequence[Input]
) -> list[PreparedBatch]:
    """Every batch of `inputs` prepared inline (an API request), an unframeable body
    taken whole for a raw source (see `spill.take_whole`)."""
    chosen = list(inputs)
    while True:
        try:
            work = prep.batches(chosen, None, RescanPolicy(enabled=False), LeanPolicy(False), None)
            return [supersede(batch, o) for _, batch, o in with_overlaps(work)]
        except UnframeableError as exc:
            chosen = take_whole(source, chosen, exc, strict=False)
