"""Items of a whole JSON document framed through orjson (extract/jsonpage.py) are the
frames the token-by-token framer gives (extract/framing.py), or none at all (the
caller then takes the framer): never other bytes, lines or items."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from ingestry.extract.framing import json_frames
from ingestry.extract.jsonpage import exact_items

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _spellings(doc: Any) -> list[bytes]:
    """The document as orjson, the standard library (spaces, ASCII escapes) and indented."""
    return [
        orjson.dumps(doc),
        json.dumps(doc).encode(),
        json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
        json.dumps(doc, indent=1).encode(),
        b"\n\n " + orjson.dumps(doc) + b"\n",
    ]


def _agrees(body: bytes, path: tuple[str, ...] | None) -> bool:
    """Whether the fast path answered (it must agree with the framer when it does)."""
    fast = exact_items(body, path)
    if fast is None:
        return False
    assert fast == list(json_frames([body], records_path=path))
    return True


@given(items=st.lists(VALUES, max_size=6))
@example(items=[{"id": "a", "n": 1}, {"id": "b", "n": [1, {"x": "]"}]}])
@example(items=[])
def test_a_top_level_array(items: list[Any]) -> None:
    answered = [_agrees(body, None) for body in _spellings(items)]
    assert answered[0] and answered[-1]  # orjson's own spelling is always proved


@given(
    items=st.lists(VALUES, max_size=5),
    before=st.dictionaries(st.sampled_from(["a", "meta", "z"]), VALUES, max_size=2),
)
@example(items=[1, 2], before={"a": [1, 2]})  # the same bytes twice: the same frames
def test_an_array_at_a_path(items: list[Any], before: dict[str, Any]) -> None:
    doc = {**before, "data": {"items": items}, "next": None}
    for body in _spellings(doc):
        _agrees(body, ("data", "items"))


def test_documents_the_fast_path_leaves_to_the_framer() -> None:
    assert exact_items(b'{"data": 1}', ("data", "items")) is None  # no array there
    assert exact_items(b'{"a": 1}', None) is None  # an object frames as itself
    assert exact_items(b"[1, 2]", None) is None  # spaces: not orjson's spelling
    assert exact_items(b'[{"a":1,"a":2}]', None) is None  # a duplicate key
    # a repeated key on the path: the framer takes the first array, orjson the last
    body = b'{"items":[1],"items":[2]}'
    assert exact_items(body, ("items",)) is None
    assert not _agrees(b'{"items":[1],"x":{"items":[2]},"items":[3]}', ("items",))
    assert exact_items(b"[1,2", None) is None  # cut short: the framer names it
    assert exact_items(b"[18446744073709551616]", None) is None  # past 64 bits
    frames = exact_items(b'\n{"x":[{"id":1},{"id":2}]}', ("x",))
    assert frames is not None
    assert [(f.line, f.payload) for f in frames] == [(2, b'{"id":1}'), (2, b'{"id":2}')]
