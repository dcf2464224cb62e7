"""Record identity: the srn spells out (convention, provenance type, id), invertibly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.domain.records import (
    SRN_PREFIX,
    change_srns,
    convention_of,
    parse_srn,
    record_srn,
)

FAST = settings(database=None, deadline=None, max_examples=200)
CONVENTION = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
KIND = st.sampled_from(["deposition", "harvest", "fork", "import"])


def test_srn_is_deterministic_and_readable() -> None:
    srn = record_srn("order", "harvest", "ORD-42")
    assert srn == record_srn("order", "harvest", "ORD-42")
    assert srn == "srn:ingestry:record:order:harvest:ORD-42"
    assert srn.startswith(SRN_PREFIX)


def test_separators_in_ids_are_percent_encoded() -> None:
    srn = record_srn("order", "harvest", "a:b/c d|é")
    assert srn == "srn:ingestry:record:order:harvest:a%3Ab%2Fc%20d%7C%C3%A9"
    assert parse_srn(srn) == ("order", "harvest", "a:b/c d|é")


@FAST
@given(CONVENTION, KIND, st.text(min_size=1))
def test_parse_srn_inverts_record_srn(convention: str, kind: str, source_id: str) -> None:
    srn = record_srn(convention, kind, source_id)
    assert parse_srn(srn) == (convention, kind, source_id)
    assert convention_of(srn) == convention


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("order", "harvest", "1"), ("product", "harvest", "1")),
        (("order", "harvest", "1"), ("order", "deposition", "1")),
        (("order", "harvest", "1"), ("order", "fork", "1")),
        (("order", "fork", "1"), ("order", "import", "1")),
        (("order", "harvest", "1"), ("order", "harvest", "2")),
        (("order", "harvest", "1"), ("order", "harvest", "01")),
        (("order", "harvest", "1"), ("order", "harvest", "1 ")),
        (("order", "harvest", "a\x1fb"), ("order", "harvest", "a b")),
        (("or", "harvest", "1"), ("order", "harvest", "1")),
    ],
)
def test_srn_differs_by_each_part(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    assert record_srn(*a) != record_srn(*b)


@FAST
@given(st.text(min_size=1), st.text(min_size=1))
def test_distinct_ids_give_distinct_srns(first: str, second: str) -> None:
    if first != second:
        assert record_srn("c", "harvest", first) != record_srn("c", "harvest", second)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "order",
        "srn:ingestry:record:",
        "srn:ingestry:record:order",
        "srn:ingestry:record:order:harvest",
        "srn:ingestry:record:order:harvest:",
        "srn:ingestry:record::harvest:1",
        "srn:ingestry:record:order:harvest:1:extra",
        "srn:ingestry:run:order:harvest:1",
        " srn:ingestry:record:order:harvest:1",
    ],
)
def test_parse_srn_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError, match="not a record srn"):
        parse_srn(junk)
    with pytest.raises(ValueError, match="not a record srn"):
        convention_of(junk)


@FAST
@given(st.lists(st.tuples(KIND, st.text(min_size=1), st.integers(1, 3)), max_size=20))
def test_change_srns_spell_each_srn_as_record_srn(changes: list[tuple[str, str, int]]) -> None:
    rows = [("order", kind, source_id, version) for kind, source_id, version in changes]
    assert change_srns(rows) == [record_srn(*row[:3]) for row in rows]


def test_change_srns_fast_path_matches_quote_for_unreserved_ids() -> None:
    rows = [("order", "harvest", f"ORD-{n}_a.b~c", 1) for n in range(50)]
    assert change_srns(rows) == [record_srn(*row[:3]) for row in rows]
    mixed = [*rows, ("order", "harvest", "é/1", 1)]
    assert change_srns(mixed)[-1] == "srn:ingestry:record:order:harvest:%C3%A9%2F1"
