"""Property (issue 13 item 1): any sequence of ingests of any of a few small files
(changed rows, ids repeated within a file, quarantined rows), then replay, changes
nothing: the records are identical, no version moves. On every backend.

Found A, B, then A again by itself before receipts (replay followed the newest distinct
payload): see the commit that added it for how many examples that took."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingestry
from ingestry.adapters.files import open_inputs
from ingestry.services.ingest import IngestService
from ingestry.store import Store

SOURCE = "customer_orders"
EXAMPLES = itertools.count()


def line(ident: str, total: str, note: str = "") -> bytes:
    return (
        b'{"id": "' + ident.encode() + b'", "type": "order", "created_at":'
        b' "2026-11-01T10:00:00Z", "total_price": "' + total.encode() + b'", "note": "'
        + note.encode() + b'"}'
    )  # fmt: skip


def files(prefix: str) -> list[list[bytes]]:
    """Four small files over three ids of the example's own."""
    a, b, c = (f"{prefix}-{n}" for n in "abc")
    return [
        [line(a, "1.00"), line(b, "2.00"), b'{"id": "' + a.encode() + b'", "created_at": '],
        [line(a, "1.50"), line(b, "2.00")],  # a changed
        [line(a, "1.00"), line(a, "9.00", "again"), line(c, "3.00")],  # a twice: last wins
        [line(b, "2.50"), line(c, "3.00", "x"), b"not json " + prefix.encode()],
    ]


def state(store: Store) -> list[tuple[Any, ...]]:
    return sorted(
        (r.srn, r.version, r.raw_sha256, str(sorted(r.columns.items())), str(r.metadata))
        for r in store.records("order")
    )


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6))
def test_any_sequence_of_ingests_then_replay_changes_nothing(
    config_path: Path, sequence: list[int]
) -> None:
    example = files(f"P{next(EXAMPLES)}")
    with ingestry.open(config_path) as store:
        for n in sequence:
            store.ingest(SOURCE, example[n])
        before = state(store)
        summary = store.replay(SOURCE)
        assert (summary.records_created, summary.records_updated) == (0, 0), sequence
        assert state(store) == before, sequence


def far_files(prefix: str) -> list[list[bytes]]:
    """Files whose ids repeat two or more batches apart (batches of 2 payloads): the
    case an identical re-ingest still versions again (docs/identity.md, "The limit")."""
    a, b, c, d = (f"{prefix}-{n}" for n in "abcd")
    return [
        [line(a, "1.00"), line(b, "2.00"), line(c, "3.00"), line(d, "4.00"), line(a, "9.00")],
        [line(a, "9.00"), line(b, "2.00"), line(c, "3.50"), line(d, "4.00"), line(a, "1.00")],
        [
            line(b, "2.00", "x"), line(a, "5.00"), line(c, "3.00"), line(d, "4.00"),
            line(b, "2.00"), line(a, "1.00"), line(b, "2.50"),
        ],
    ]


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=5))
def test_far_apart_repeats_then_replay_changes_nothing(
    config_path: Path, tmp_path: Path, sequence: list[int]
) -> None:
    """Replay applies each id's latest receipt only, so repeats batches apart (which an
    ingest writes batch by batch) leave nothing for it to change either."""
    example = far_files(f"F{next(EXAMPLES)}")
    with ingestry.open(config_path) as store:
        source = store.source(SOURCE)
        extractor = store.extractor(source)
        service = IngestService(store.storage, lambda _: extractor, batch_size=2,
                                mode=store.write_mode)  # fmt: skip
        for step, n in enumerate(sequence):
            path = tmp_path / f"far-{step}.jsonl"
            path.write_bytes(b"".join(x + b"\n" for x in example[n]))
            service.ingest(source, open_inputs([str(path)], source.format))
        before = state(store)
        summary = store.replay(SOURCE)
        assert (summary.records_created, summary.records_updated) == (0, 0), sequence
        assert state(store) == before, sequence
