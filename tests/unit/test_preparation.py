"""Preparation: batches come with their work, lean batches leave their rows out when
the wire carries everything, and deferred rows are rebuilt exactly on first use."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from ingestry.adapters.postgres.wire import WireEncoder
from ingestry.services.batch import Provenance
from ingestry.services.payloads import PayloadInput
from ingestry.services.preparation import Deferred, LeanPolicy, Preparation, inline_map
from ingestry.services.rescan import RescanPolicy
from tests.unit.test_wire import CONV, SOURCE, _doc

MOMENT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PROVENANCE = Provenance.of("harvest", harvest_run_srn="srn:x:run:1", upstream_source="s")


def _preparation(encode: bool = True) -> Preparation:
    from ingestry.extract.compiler import Extractor

    return Preparation(
        SOURCE, Extractor(SOURCE, CONV), PROVENANCE, batch_size=10, clock=lambda: MOMENT,
        encode=WireEncoder(CONV) if encode else None,
    )  # fmt: skip


def _inputs(docs: list[dict[str, object]]) -> list[PayloadInput]:
    return [PayloadInput([orjson.dumps(d) for d in docs])]


def test_lean_batches_leave_their_rows_out_and_rebuild_them_exactly() -> None:
    docs = [_doc(i) for i in range(35)]
    lean = LeanPolicy(enabled=True)
    lean.lean = True
    # a map that prepares in this process but, like the worker processes, asks for blocks
    batches = list(_preparation().batches(_inputs(docs), None, RescanPolicy(False), lean,
                                          inline_map))  # fmt: skip
    full = list(_preparation().batches(_inputs(docs), None, RescanPolicy(False),
                                       LeanPolicy(False), None))  # fmt: skip
    assert [b.received for _, b in batches] == [10, 10, 10, 5]
    for (work, batch), (_, reference) in zip(batches, full, strict=True):
        assert work[-1] is True  # the work asked for a lean batch
        assert batch.omitted == (len(reference.raw), len(reference.records))
        assert isinstance(batch.raw, Deferred) and isinstance(batch.records, Deferred)
        built = [batch.records.built]
        assert len(batch.records) == len(reference.records)  # a length builds nothing
        assert batch.wire == reference.wire  # what the storage writes is the same
        assert list(batch.records) == list(reference.records)  # built on first use
        assert list(batch.raw) == list(reference.raw)
        assert [*built, batch.records.built] == [False, True]


def test_rows_stay_when_the_wire_cannot_carry_the_batch() -> None:
    docs = [_doc(1), _doc(1)]  # the same bytes twice: the raw claim decides, with rows
    lean = LeanPolicy(enabled=True)
    lean.lean = True
    [(_, batch)] = _preparation().batches(_inputs(docs), None, RescanPolicy(False), lean,
                                          inline_map)  # fmt: skip
    assert batch.omitted is None and isinstance(batch.records, list) and len(batch.records) == 1
    assert len(batch.raw) == 2 and batch.duplicate_ids == 1


def test_the_policy_follows_the_last_written_batch() -> None:
    lean = LeanPolicy(enabled=True)
    seen = [lean.lean]  # a first batch always carries its rows
    for all_new in (True, False, True):
        lean.observe(all_new)
        seen.append(lean.lean)
    assert seen == [False, True, False, True]
    off = LeanPolicy(enabled=False)
    off.observe(all_new=True)
    assert off.lean is False
