"""The versioning rule, tested once (every write path is held to it by
`tests/contract/test_versioning.py`)."""

from __future__ import annotations

from ingestry.domain.versioning import UNCHANGED, apply_versions, next_version


def test_new_changed_unchanged() -> None:
    assert next_version(None, b"a") == 1
    assert next_version((b"a", 1), b"a") == UNCHANGED
    assert next_version((b"a", 4), b"b") == 5


def test_a_batch_applies_in_order_so_repeats_version_each_change() -> None:
    known: dict[object, tuple[bytes, int]] = {"x": (b"a", 2)}
    rows = [("y", b"1"), ("x", b"a"), ("x", b"b"), ("y", b"1"), ("y", b"2"), ("x", b"a")]
    assert apply_versions(known, rows) == [1, UNCHANGED, 3, UNCHANGED, 2, 4]
    assert known == {"x": (b"a", 4), "y": (b"2", 2)}
