"""Record identity: the srn is a pure function of (convention, provenance type, id)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.domain.records import SRN_PREFIX, convention_of, record_srn

FAST = settings(database=None, deadline=None, max_examples=200)
# The digest's encoding is an implementation detail; its shape is not: lower-case
# alphanumerics of one fixed length after the last colon.
SRN_SHAPE = re.compile(r"^srn:ingestry:record:(.+):([a-z0-9]+)$")
CONVENTION = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
REFERENCE = record_srn("order", "deposition", "1")
DIGEST_LENGTH = len(REFERENCE.rsplit(":", 1)[1])


def test_srn_is_deterministic_and_well_formed() -> None:
    srn = record_srn("order", "harvest", "42")
    assert srn == record_srn("order", "harvest", "42")
    match = SRN_SHAPE.match(srn)
    assert match is not None
    assert match.group(1) == "order"
    assert len(match.group(2)) == DIGEST_LENGTH
    assert srn.startswith(SRN_PREFIX)


def test_digest_carries_at_least_128_bits() -> None:
    # 26 base32 or 32 hex characters both hold 128 bits; fewer would risk collisions.
    digest = REFERENCE.rsplit(":", 1)[1]
    bits_per_char = 4 if set(digest) <= set("0123456789abcdef") else 5  # hex or base32
    assert len(digest) * bits_per_char >= 128


@FAST
@given(CONVENTION, st.sampled_from(["deposition", "harvest", "fork", "import"]), st.text())
def test_srn_shape_is_fixed(convention: str, kind: str, source_id: str) -> None:
    match = SRN_SHAPE.match(record_srn(convention, kind, source_id))
    assert match is not None
    assert match.group(1) == convention
    assert len(match.group(2)) == DIGEST_LENGTH


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
@given(CONVENTION, st.sampled_from(["deposition", "harvest", "fork", "import"]), st.text())
def test_convention_of_parses_the_srn_back(convention: str, kind: str, source_id: str) -> None:
    assert convention_of(record_srn(convention, kind, source_id)) == convention


@FAST
@given(st.text(min_size=1), st.text(min_size=1))
def test_distinct_ids_give_distinct_srns(first: str, second: str) -> None:
    if first != second:
        assert record_srn("c", "harvest", first) != record_srn("c", "harvest", second)


def test_convention_with_colon_is_recovered() -> None:
    # rpartition: only the digest is split off the end
    srn = record_srn("a:b", "harvest", "1")
    assert convention_of(srn) == "a:b"


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "order",
        "srn:ingestry:record:",
        "srn:ingestry:record:order",
        "srn:ingestry:record:order:short",
        SRN_PREFIX + ":" + REFERENCE.rsplit(":", 1)[1],  # no convention
        REFERENCE + "a",  # digest too long
        REFERENCE[:-1],  # digest too short
        REFERENCE.rsplit(":", 1)[0],  # no digest
        REFERENCE.replace("srn:ingestry:record:", "srn:ingestry:run:"),
        REFERENCE.upper(),
        " " + REFERENCE,
    ],
)
def test_convention_of_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError, match="not a record srn"):
        convention_of(junk)
