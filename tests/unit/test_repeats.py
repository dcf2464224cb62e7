"""FarRepeats (services/repeats.py): which ids a run received two or more batches apart."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingestry.services.ports import PreparedBatch
from ingestry.services.repeats import FarRepeats
from ingestry.services.supersede import Overlap, supersede, with_overlaps


@given(st.lists(st.frozensets(st.sampled_from("abcdefgh"), max_size=5), max_size=12))
def test_found_are_exactly_the_ids_two_or_more_batches_apart(batches: list[frozenset[str]]) -> None:
    repeats = FarRepeats()
    for ids in batches:
        repeats.observe(ids)
    expected = {
        i
        for k, later in enumerate(batches)
        for earlier in batches[: max(k - 1, 0)]
        for i in later & earlier
    }
    assert repeats.found == expected


def test_deferred_rows_are_set_aside_and_the_last_wins() -> None:
    def batch(*rows: tuple[str, str]) -> tuple[None, PreparedBatch]:
        return None, PreparedBatch(records=[("harvest", i, note) for i, note in rows])  # type: ignore[misc]

    repeats = FarRepeats(frozenset({"A"}))
    work = [batch(("A", "a"), ("B", "b")), batch(("C", "c")), batch(("A", "z"), ("D", "d"))]
    written = [supersede(b, o, repeats) for _, b, o in with_overlaps(work, repeats)]
    assert [[r[1] for r in b.records] for b in written] == [["B"], ["C"], ["D"]]
    assert repeats.rows() == [("harvest", "A", "z")]
    assert repeats.found == {"A"} and repeats.pending
    assert Overlap().deferred == frozenset()


@given(st.lists(st.frozensets(st.sampled_from("abcdefgh"), max_size=5), max_size=12))
def test_the_numpy_levels_find_the_same(batches: list[frozenset[str]]) -> None:
    """Past `small` ids the hashes move from a set to sorted numpy arrays."""
    exact, levels = FarRepeats(), FarRepeats(small=2)
    for ids in batches:
        exact.observe(ids)
        levels.observe(ids)
    assert levels.found == exact.found
