"""Dotted-path getters: dict keys, list indexes, and MISSING for everything else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.conventions import join_path, split_path
from ingestry.extract.paths import MISSING, compile_getter

DOC: dict[str, Any] = {
    "id": 7,
    "none": None,
    "empty": "",
    "zero": 0,
    "customer": {"email": "a@b.c", "address": {"city": "Oslo"}, "tags": []},
    "line_items": [{"sku": "A"}, {"sku": "B"}, {"sku": "C", "qty": [10, 20]}],
    "numeric": {"0": "zero-key", "-1": "minus-one-key", "10": "ten"},
    "text": "hello",
    "n": 5,
    "flag": True,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("id", 7),
        ("none", None),
        ("empty", ""),
        ("zero", 0),
        ("flag", True),
        ("customer.email", "a@b.c"),
        ("customer.address.city", "Oslo"),
        ("customer.tags", []),
        ("line_items.0.sku", "A"),
        ("line_items.2.sku", "C"),
        ("line_items.-1.sku", "C"),
        ("line_items.-3.sku", "A"),
        ("line_items.2.qty.1", 20),
        ("line_items.2.qty.-2", 10),
        ("numeric.0", "zero-key"),
        ("numeric.-1", "minus-one-key"),
        ("numeric.10", "ten"),
    ],
)
def test_found(path: str, expected: Any) -> None:
    value = compile_getter(split_path(path))(DOC)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "path",
    [
        "absent",
        "customer.phone",
        "customer.address.zip",
        "line_items.3.sku",
        "line_items.-4.sku",
        "line_items.x",
        "line_items.0.missing",
        "line_items.0.sku.x",  # str intermediate
        "text.0",  # str is not a list
        "n.0",  # int intermediate
        "flag.x",  # bool intermediate
        "none.x",  # null intermediate
        "numeric.1",  # numeric key not present on a dict
        "customer.tags.0",  # empty list
        "id.id",
    ],
)
def test_missing(path: str) -> None:
    assert compile_getter(split_path(path))(DOC) is MISSING


def test_present_null_is_none_not_missing() -> None:
    assert compile_getter(("none",))(DOC) is None
    assert compile_getter(("a", "b"))({"a": {"b": None}}) is None


@pytest.mark.parametrize("doc", [None, 1, "s", [1, 2], [{"id": 1}], True, 1.5])
def test_single_segment_on_non_object_is_missing(doc: Any) -> None:
    assert compile_getter(("id",))(doc) is MISSING


@pytest.mark.parametrize("doc", [None, 1, "s", True])
def test_multi_segment_on_scalar_root_is_missing(doc: Any) -> None:
    assert compile_getter(("a", "b"))(doc) is MISSING


def test_list_root_with_index_path() -> None:
    assert compile_getter(("0", "a"))([{"a": 1}]) == 1
    assert compile_getter(("1", "a"))([{"a": 1}]) is MISSING


def test_getter_does_not_mutate() -> None:
    doc: dict[str, Any] = {"a": {"b": [1, 2]}}
    compile_getter(("a", "b", "0"))(doc)
    assert doc == {"a": {"b": [1, 2]}}


def test_missing_is_a_singleton_with_repr() -> None:
    assert repr(MISSING) == "MISSING"
    assert MISSING is not None
    assert bool(MISSING) is True  # truthiness is no way to test for it: compare with `is`


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a."])
def test_split_path_rejects_empty_segments(path: str) -> None:
    with pytest.raises(ValueError, match="empty segment"):
        split_path(path)


def test_split_path_keeps_indexes_as_strings() -> None:
    assert split_path("line_items.0.sku") == ("line_items", "0", "sku")


def test_underscored_segment_is_not_a_list_index() -> None:
    assert compile_getter(("a", "1_0"))({"a": list(range(20))}) is MISSING


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ('"@odata.nextLink"', ("@odata.nextLink",)),
        ('meta."a.b".c', ("meta", "a.b", "c")),
        ('"say \\"hi\\"".x', ('say "hi"', "x")),
        ('"back\\\\slash"', ("back\\slash",)),
        ('""', ("",)),
    ],
)
def test_a_quoted_segment_is_one_key(path: str, parts: tuple[str, ...]) -> None:
    """OData's `@odata.nextLink` and any key holding a dot (jq's spelling)."""
    assert split_path(path) == parts
    assert split_path(join_path(parts)) == parts


@pytest.mark.parametrize("path", ['"open', 'a"b', '"a"b', 'a.."b"', '"a".', '."a"'])
def test_a_bad_quoted_path_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="invalid path"):
        split_path(path)


@given(st.lists(st.text(max_size=8), min_size=1, max_size=4))
def test_any_keys_go_through_join_and_split(parts: list[str]) -> None:
    """Whatever the keys hold (dots, quotes, backslashes, nothing), a path written by
    `join_path` reads back as those keys."""
    assert split_path(join_path(parts)) == tuple(parts)
