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


def test_the_hash_filter_never_forgets_a_hash_as_it_grows() -> None:
    """A Bloom filter may say "maybe" for a hash never added, never "no" for one added,
    across the rebuilds that double it (from the levels it is given)."""
    import numpy as np

    from ingestry.services.hashfilter import HashFilter

    rng = np.random.default_rng(7)
    added: list[np.ndarray] = []
    bloom = HashFilter(1_000)
    for _ in range(40):  # 400,000 hashes: past the first array's 8 bits an id
        part = rng.integers(-(2**63), 2**63 - 1, size=10_000, dtype=np.int64)
        added.append(part)
        bloom.add(part, added)
    assert bloom.may_hold(np.concatenate(added)).all()
    unseen = rng.integers(-(2**63), 2**63 - 1, size=100_000, dtype=np.int64)
    assert bloom.may_hold(unseen).mean() < 0.05  # a filter, not a yes to everything


def test_many_batches_find_the_same_through_the_filter() -> None:
    """Thousands of ids a batch, some repeated far apart: the numpy levels (with their
    filter) find exactly what the set finds."""
    import random

    rng = random.Random(3)
    batches = [frozenset(f"id{rng.randrange(60_000)}" for _ in range(2_000)) for _ in range(30)]
    exact, levels = FarRepeats(small=10**9), FarRepeats(small=3_000)
    for ids in batches:
        exact.observe(ids)
        levels.observe(ids)
    assert exact.found and levels.found == exact.found
