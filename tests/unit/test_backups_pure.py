"""The backup values and the schedule, without I/O: manifests round-trip and refuse
damage, digests list their differences, and revisions from the future are told apart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.backups import (
    BackupError,
    ContentDigest,
    Manifest,
    newer_than_code,
    scheduled_name,
)

COUNTS = st.dictionaries(st.text(min_size=1, max_size=12), st.integers(0, 10**9), max_size=6)


def manifest(tables: dict[str, int]) -> Manifest:
    return Manifest(
        "2026-12-02T00:00:00+00:00", "sqlite", "20261202_230000", None,
        ContentDigest(tables, "ab" * 32), {"store.sqlite.gz": "cd" * 32},
    )  # fmt: skip


@given(COUNTS)
def test_a_manifest_round_trips(tables: dict[str, int]) -> None:
    made = manifest(tables)
    assert Manifest.from_dict("m", made.as_dict()) == made


@given(COUNTS, COUNTS)
def test_digests_differ_exactly_where_the_counts_do(a: dict[str, int], b: dict[str, int]) -> None:
    problems = ContentDigest(a, "x").mismatches(ContentDigest(b, "x"))
    differing = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert len(problems) == len(differing)
    assert ContentDigest(a, "x").mismatches(ContentDigest(a, "y")) != []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other/1"}, "not an ingestry backup manifest"),
        ({"tables": {"t": "many"}}, "damaged manifest"),
        ({"files": None}, "damaged manifest"),
    ],
)
def test_a_damaged_manifest_is_refused(change: dict[str, Any], message: str) -> None:
    data = {**manifest({"t": 1}).as_dict(), **change}
    with pytest.raises(BackupError, match=message):
        Manifest.from_dict("b/manifest.json", data)


def test_newer_revisions_sort_after_the_head() -> None:
    assert newer_than_code("20270101_000000", "20261202_230000")
    assert not newer_than_code("20261123_120000", "20261202_230000")
    assert not newer_than_code(None, "20261202_230000")
    assert scheduled_name(datetime(2026, 12, 2, 3, tzinfo=UTC)) == (
        "ingestry-backup-20261202T030000Z.tar"
    )
