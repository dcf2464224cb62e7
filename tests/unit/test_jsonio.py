"""Exact JSON: big integers survive, NaN is refused, dumps is canonical."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.extract.jsonio import MAX_DEPTH, JSONError, NestingError, dumps, dumps_str, loads

FAST = settings(database=None, deadline=None, max_examples=200)
BIG = 123456789012345678901234567890  # 30 digits: beyond int64 and uint64

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


def test_thirty_digit_integer_stays_exact() -> None:
    doc = loads(b'{"id": 123456789012345678901234567890}')
    assert doc == {"id": BIG}
    assert type(doc["id"]) is int


def test_orjson_alone_would_lose_it() -> None:
    # The reason jsonio exists: prove orjson does not keep this integer exact.
    try:
        parsed = orjson.loads(b"123456789012345678901234567890")
    except orjson.JSONDecodeError:
        return
    assert parsed != BIG


@pytest.mark.parametrize(
    "value", [2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**64), 10**19, -(10**29), BIG]
)
def test_integers_at_64_bit_edges_are_exact(value: int) -> None:
    assert loads(str(value).encode()) == value
    assert loads(f'[{value}, "x"]') == [value, "x"]


def test_str_input_is_accepted() -> None:
    assert loads('{"a": [1, 2.5, "x", true, null]}') == {"a": [1, 2.5, "x", True, None]}


def test_long_digit_run_inside_a_string_keeps_strings() -> None:
    doc = loads(b'{"s": "1234567890123456789012", "f": 1.5}')
    assert doc == {"s": "1234567890123456789012", "f": 1.5}


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
@pytest.mark.parametrize("with_big", [False, True])
def test_nan_and_infinity_are_rejected(constant: bytes, with_big: bool) -> None:
    doc = b'{"x": ' + constant + (b', "n": 123456789012345678901234567890}' if with_big else b"}")
    with pytest.raises(JSONError):
        loads(doc)


@pytest.mark.parametrize("with_big", [False, True])
def test_duplicate_keys_last_wins(with_big: bool) -> None:
    tail = b', "n": 123456789012345678901234567890' if with_big else b""
    doc = loads(b'{"a": 1, "b": 0, "a": 2' + tail + b"}")
    assert doc["a"] == 2
    assert doc["b"] == 0


@pytest.mark.parametrize("with_big", [False, True])
def test_nul_escape_is_kept(with_big: bool) -> None:
    tail = b', "n": 123456789012345678901234567890' if with_big else b""
    assert loads(b'{"s": "a\\u0000b"' + tail + b"}")["s"] == "a\x00b"


@pytest.mark.parametrize("with_big", [False, True])
def test_non_ascii_is_kept(with_big: bool) -> None:
    tail = ', "n": 123456789012345678901234567890' if with_big else ""
    text = '{"s": "Zürich ✓ 東京 😀", "e": "\\u00e9"' + tail + "}"
    doc = loads(text.encode())
    assert doc["s"] == "Zürich ✓ 東京 😀"
    assert doc["e"] == "é"


@pytest.mark.parametrize(
    "bad",
    [b"", b"{", b'{"a":}', b"[1,]", b"{'a': 1}", b'{"a": 1} x', b"undefined", b"\xff"],
)
@pytest.mark.parametrize("with_big", [False, True])
def test_invalid_json_raises_jsonerror(bad: bytes, with_big: bool) -> None:
    # with_big: the same defect inside a document that also holds a 22-digit integer
    data = b"[" + bad + b", 1234567890123456789012]" if with_big else bad
    with pytest.raises(JSONError):
        loads(data)


def test_jsonerror_is_a_valueerror() -> None:
    assert issubclass(JSONError, ValueError)


def test_too_deep_nesting_is_a_jsonerror() -> None:
    with pytest.raises(JSONError):
        loads(b"[" * 5000 + b"]" * 5000)


def test_dumps_sorts_keys_and_is_compact() -> None:
    assert dumps({"b": 1, "a": {"d": [1, 2], "c": None}}) == b'{"a":{"c":null,"d":[1,2]},"b":1}'
    assert dumps_str({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_dumps_is_independent_of_key_order() -> None:
    assert dumps({"x": 1, "y": {"p": 1, "q": 2}}) == dumps({"y": {"q": 2, "p": 1}, "x": 1})


def test_dumps_big_int_exact_and_canonical() -> None:
    out = dumps({"z": "é", "n": BIG, "a": [1.5, True, None]})
    assert out == '{"a":[1.5,true,null],"n":123456789012345678901234567890,"z":"é"}'.encode()
    assert loads(out)["n"] == BIG


def test_dumps_big_int_path_matches_fast_path_format() -> None:
    # The same document except for the big int must serialize identically otherwise.
    fast = dumps({"a": [1.5, "é", None], "n": 1})
    slow = dumps({"a": [1.5, "é", None], "n": BIG})
    assert fast.replace(b'"n":1', b'"n":' + str(BIG).encode()) == slow


def test_dumps_keeps_utf8_not_escaped() -> None:
    assert dumps({"s": "é\x00"}) == '{"s":"é\\u0000"}'.encode()


@FAST
@given(JSON_VALUES)
def test_loads_dumps_round_trip(value: Any) -> None:
    encoded = dumps(value)
    assert loads(encoded) == value
    # canonical: dumping what was loaded gives the same bytes
    assert dumps(loads(encoded)) == encoded
    # and it is JSON any parser reads
    assert json.loads(encoded) == value


@FAST
@given(st.dictionaries(st.text(max_size=5), st.integers(), min_size=1, max_size=8))
def test_dumps_equal_content_equal_bytes(mapping: dict[str, int]) -> None:
    reversed_mapping = dict(reversed(list(mapping.items())))
    assert dumps(mapping) == dumps(reversed_mapping)


# --- bugs: behaviour must not depend on whether a long digit run appears elsewhere ---


def test_overflowing_float_rejected_on_big_int_path() -> None:
    with pytest.raises(JSONError):
        loads(b'{"x": 1e400, "n": 123456789012345678901234567890}')


def test_overflowing_float_rejected_on_fast_path() -> None:
    with pytest.raises(JSONError):
        loads(b'{"x": 1e400}')


def test_lone_surrogate_rejected_on_big_int_path() -> None:
    with pytest.raises(JSONError):
        loads(b'{"s": "\\ud800", "n": 123456789012345678901234567890}')


def test_dumps_of_every_loaded_value_works() -> None:
    try:
        value = loads(b'{"s": "\\ud800", "n": 123456789012345678901234567890}')
    except JSONError:
        return  # rejecting it at load time is fine too
    assert loads(dumps(value)) == value


def test_bom_handling_is_the_same_on_both_paths() -> None:
    def accepted(data: bytes) -> bool:
        try:
            loads(data)
        except JSONError:
            return False
        return True

    bom = b"\xef\xbb\xbf"
    assert accepted(bom + b'{"n": 1}') == accepted(bom + b'{"n": 123456789012345678901234567890}')


def test_huge_integer_is_a_jsonerror() -> None:
    with pytest.raises(JSONError):
        loads(b"[" + b"1" * 5000 + b"]")


def test_str_with_lone_surrogate_is_a_jsonerror() -> None:
    with pytest.raises(JSONError):
        loads('"\ud800"')


def test_dumps_output_is_always_valid_json() -> None:
    def refuse(name: str) -> Any:
        raise AssertionError(f"dumps emitted {name}")

    out = dumps({"x": float("nan"), "n": BIG})
    json.loads(out, parse_constant=refuse)


@pytest.mark.parametrize("tail", [b"1", b"123456789012345678901234567890"])
def test_a_leading_bom_is_ignored_on_both_paths(tail: bytes) -> None:
    assert loads(b"\xef\xbb\xbf" + b'{"n": ' + tail + b"}") == {"n": int(tail)}
    with pytest.raises(JSONError):  # only a leading one: inside, it is not whitespace
        loads(b'{"n": \xef\xbb\xbf' + tail + b"}")


def nested(levels: int, leaf: bytes = b"1") -> bytes:
    return b"[" * levels + leaf + b"]" * levels


@pytest.mark.parametrize("leaf", [b"1", b"123456789012345678901234567890"])
def test_nesting_limit_is_the_same_on_both_paths(leaf: bytes) -> None:
    assert dumps(loads(nested(MAX_DEPTH, leaf))) == nested(MAX_DEPTH, leaf)
    for levels in (MAX_DEPTH + 1, 500, 1025, 100_000):
        with pytest.raises(NestingError, match="JSON nested deeper than 254 levels"):
            dumps(loads(nested(levels, leaf)))


def test_dumps_refuses_too_deep_values_without_recursing() -> None:
    value: list[Any] = []
    for _ in range(50_000):
        value = [value]
    with pytest.raises(NestingError):
        dumps(value)
    with pytest.raises(NestingError):
        dumps({"n": BIG, "deep": value})
