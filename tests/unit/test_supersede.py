"""Look-ahead of one batch: ids the next batch holds again are its to write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingestry.services.batch import PreparedBatch
from ingestry.services.supersede import Overlap, supersede, with_overlaps


def _batch(*ids: str, repeated: tuple[str, ...] = ()) -> PreparedBatch:
    rows = [("harvest", i, "{}", "s", "{}", b"h", "v", None, (), "s") for i in ids]
    return PreparedBatch(records=rows, keys=(*ids, b"sha"), repeated=repeated)


def test_each_batch_learns_what_the_next_one_holds() -> None:
    batches = [_batch("a", "b"), _batch("b", "c"), _batch("c", "d", "c", repeated=("c",))]
    seen = list(with_overlaps((n, b) for n, b in enumerate(batches)))
    assert [o for _, _, o in seen] == [
        Overlap(frozenset({"b"})),
        Overlap(frozenset({"c"}), frozenset({"b"})),
        Overlap(frozenset(), frozenset({"c"})),
    ]
    written = [supersede(b, o) for _, b, o in seen]
    assert [[r[1] for r in b.records] for b in written] == [["a"], ["b"], ["c", "d", "c"]]
    # b counted where it was left out; c there too, not again where it repeats
    assert [b.duplicate_ids for b in written] == [1, 1, 0]


def test_the_wire_keeps_only_its_raw_part_when_rows_are_left_out() -> None:
    batch = _batch("a", "b")
    batch.wire = {"raw": [b"r"], "records": [b"x"], "srn_lines": b"", "complete": True}
    out = supersede(batch, Overlap(frozenset({"a"})))
    assert out.wire == {"raw": [b"r"], "complete": False}


def test_a_failure_preparing_the_next_batch_writes_the_one_in_hand_first() -> None:
    def batches() -> Iterator[tuple[int, PreparedBatch]]:
        yield 0, _batch("a")
        raise KeyboardInterrupt  # a stop requested while the next batch is read

    seen = with_overlaps(batches())
    work, _, overlap = next(seen)
    assert (work, overlap) == (0, Overlap())
    with pytest.raises(KeyboardInterrupt):
        next(seen)
