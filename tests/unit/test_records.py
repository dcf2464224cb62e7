"""Record identity: the srn spells out (convention, provenance type, upstream, id),
invertibly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.domain.provenance import (
    DepositionSource,
    ForkSource,
    HarvestSource,
    ImportSource,
    RecordSource,
)
from ingestry.domain.records import (
    SRN_PREFIX,
    change_srns,
    convention_of,
    parse_srn,
    record_srn,
    srn_of,
    upstream_of,
)

FAST = settings(database=None, deadline=None, max_examples=200)
CONVENTION = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
KIND = st.sampled_from(["deposition", "harvest", "fork", "import"])


@st.composite
def identities(draw: st.DrawFn) -> tuple[str, str, str, str]:
    kind = draw(KIND)
    upstream = "" if kind == "deposition" else draw(st.text(min_size=1))
    return draw(CONVENTION), kind, upstream, draw(st.text(min_size=1))


def test_srns_are_spelled_as_the_contract_says() -> None:
    assert (
        record_srn("order", "harvest", "customer_orders", "ORD-1003")
        == "srn:ingestry:record:order:harvest:customer_orders:ORD-1003"
    )
    assert (
        record_srn("order", "deposition", "", "A-1") == "srn:ingestry:record:order:deposition::A-1"
    )
    srn = record_srn("order", "fork", "https://eu-1.example", "A-1")
    assert srn == "srn:ingestry:record:order:fork:https%3A%2F%2Feu-1.example:A-1"
    assert srn.startswith(SRN_PREFIX)


def test_separators_in_ids_are_percent_encoded() -> None:
    srn = record_srn("order", "harvest", "customer_orders", "a:b/c d|é")
    assert srn == "srn:ingestry:record:order:harvest:customer_orders:a%3Ab%2Fc%20d%7C%C3%A9"
    assert parse_srn(srn) == ("order", "harvest", "customer_orders", "a:b/c d|é")


def test_the_upstream_is_required_where_the_identity_has_one() -> None:
    with pytest.raises(ValueError, match="needs its upstream"):
        record_srn("order", "harvest", "", "A-1")
    with pytest.raises(ValueError, match="no upstream"):
        record_srn("order", "deposition", "shop", "A-1")


@pytest.mark.parametrize(
    ("source", "upstream"),
    [
        (DepositionSource("A-1"), ""),
        (HarvestSource("A-1", "srn:ingestry:harvest-run:1", "shop"), "shop"),
        (ForkSource("A-1", "eu-1"), "eu-1"),
        (ImportSource("A-1", "eu-2"), "eu-2"),
    ],
)
def test_srn_of_a_provenance_names_its_upstream(source: RecordSource, upstream: str) -> None:
    assert upstream_of(source) == upstream
    assert srn_of("order", source) == record_srn("order", source.type, upstream, "A-1")


@FAST
@given(identities())
def test_parse_srn_inverts_record_srn(identity: tuple[str, str, str, str]) -> None:
    srn = record_srn(*identity)
    assert parse_srn(srn) == identity
    assert convention_of(srn) == identity[0]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("order", "harvest", "s", "1"), ("product", "harvest", "s", "1")),
        (("order", "harvest", "s", "1"), ("order", "fork", "s", "1")),
        (("order", "fork", "s", "1"), ("order", "import", "s", "1")),
        (("order", "harvest", "s", "1"), ("order", "harvest", "t", "1")),
        (("order", "harvest", "s", "1"), ("order", "harvest", "s", "2")),
        (("order", "harvest", "s", "1"), ("order", "harvest", "s", "01")),
        (("order", "harvest", "s", "1"), ("order", "harvest", "s", "1 ")),
        (("order", "harvest", "s:1", "2"), ("order", "harvest", "s", "1:2")),
        (("order", "harvest", "s", "a\x1fb"), ("order", "harvest", "s", "a b")),
        (("or", "harvest", "s", "1"), ("order", "harvest", "s", "1")),
        (("order", "deposition", "", "1"), ("order", "harvest", "s", "1")),
    ],
)
def test_srn_differs_by_each_part(
    a: tuple[str, str, str, str], b: tuple[str, str, str, str]
) -> None:
    assert record_srn(*a) != record_srn(*b)


@FAST
@given(identities(), identities())
def test_distinct_identities_give_distinct_srns(
    first: tuple[str, str, str, str], second: tuple[str, str, str, str]
) -> None:
    if first != second:
        assert record_srn(*first) != record_srn(*second)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "order",
        "srn:ingestry:record:",
        "srn:ingestry:record:order",
        "srn:ingestry:record:order:harvest",
        "srn:ingestry:record:order:harvest:s",
        "srn:ingestry:record:order:harvest:s:",
        "srn:ingestry:record::harvest:s:1",
        "srn:ingestry:record:order:harvest:s:1:extra",
        "srn:ingestry:record:order:harvest::1",
        "srn:ingestry:record:order:deposition:s:1",
        "srn:ingestry:run:order:harvest:s:1",
        " srn:ingestry:record:order:harvest:s:1",
    ],
)
def test_parse_srn_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError, match="not a record srn"):
        parse_srn(junk)
    with pytest.raises(ValueError, match="not a record srn"):
        convention_of(junk)


@FAST
@given(st.lists(st.tuples(identities(), st.integers(1, 3)), max_size=20))
def test_change_srns_spell_each_srn_as_record_srn(
    changes: list[tuple[tuple[str, str, str, str], int]],
) -> None:
    rows = [(*identity, version) for identity, version in changes]
    assert change_srns(rows) == [record_srn(*row[:4]) for row in rows]


def test_change_srns_fast_path_matches_quote_for_unreserved_ids() -> None:
    rows = [("order", "harvest", "shop_1", f"ORD-{n}_a.b~c", 1) for n in range(50)]
    assert change_srns(rows) == [record_srn(*row[:4]) for row in rows]
    mixed = [*rows, ("order", "harvest", "shop_1", "é/1", 1)]
    assert change_srns(mixed)[-1] == "srn:ingestry:record:order:harvest:shop_1:%C3%A9%2F1"
    spaced = [*rows, ("order", "fork", "a node", "1", 1)]
    assert change_srns(spaced)[-1] == "srn:ingestry:record:order:fork:a%20node:1"
