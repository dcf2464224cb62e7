"""Every write path follows the one versioning rule (`domain/versioning.py`).

SQLite and the fake apply `next_version` row by row; PostgreSQL decides in set-based SQL
for speed (`adapters/postgres/records.py`). This property test is what lets it: for any
sequence of batches (ids repeated within and across them, contents changing back and
forth), each backend's counts, changes and final versions are the rule's.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.domain.records import record_srn
from ingestry.domain.versioning import UNCHANGED, apply_versions
from ingestry.services.ports import RecordChange, Storage
from tests.contract.conftest import CONVENTION, NOW, SOURCE, record_row

_RUNS = itertools.count()

batches = st.lists(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["x", "y", "z"])),
        max_size=8,
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=batches)
def test_upserts_follow_the_versioning_rule(
    storage: Storage, batches: list[list[tuple[str, str]]]
) -> None:
    run = next(_RUNS)  # each example its own ids: the storage outlives examples
    known: dict[object, tuple[bytes, int]] = {}
    for batch in batches:
        rows = [record_row(f"{run}-{i}", label=label) for i, label in batch]
        expected = apply_versions(known, [(row[1], row[5]) for row in rows])
        with storage.session() as session:
            result = session.upsert_records(CONVENTION, rows, NOW)
        assert result.created == expected.count(1)
        assert result.unchanged == expected.count(UNCHANGED)
        assert result.updated == len(expected) - result.created - result.unchanged
        wanted = [
            RecordChange("thing", "harvest", SOURCE, row[1], v)
            for row, v in zip(rows, expected, strict=True)
            if v != UNCHANGED
        ]
        assert sorted(result.changes) == sorted(wanted)
    for source_id, (_, version) in known.items():
        record = storage.get_record(
            CONVENTION, record_srn("thing", "harvest", SOURCE, str(source_id))
        )
        assert record is not None and record.version == version
        history = storage.record_history(CONVENTION, record.srn)
        assert [r.version for r in history] == list(range(1, version + 1))
