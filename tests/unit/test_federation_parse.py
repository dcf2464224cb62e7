"""The fork client's page parsing (adapters/federation.py `parsed`): orjson for speed,
never at the cost of an exact integer."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from ingestry.adapters.federation import parsed


def test_an_integer_beyond_64_bits_arrives_exact() -> None:
    big = 2**64 + 1
    page = b'{"items":[{"columns":{"n":' + str(big).encode() + b'}}],"has_more":false}'
    assert parsed(page)["items"][0]["columns"]["n"] == big


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(values)
def test_any_page_parses_as_the_stdlib_parses_it(value: object) -> None:
    page = json.dumps({"items": [value]}).encode()
    assert parsed(page) == json.loads(page)


def test_what_orjson_refuses_the_stdlib_still_reads() -> None:
    page = b'{"items":[{"columns":{"s":"\\ud800"}}]}'
    assert parsed(page) == json.loads(page)
