"""domain.pullbody and the body half of domain.harvest's page requests: a POST's JSON
body is the source's `body:` with the paginator's and the cursor's values set in it."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.harvest import (
    PageRequest,
    PaginatorSpec,
    PaginatorType,
    following,
)
from ingestry.domain.pageguess import counted_on
from ingestry.domain.pullbody import body_bytes, mark_value


def test_values_are_set_at_their_dotted_paths_around_the_base() -> None:
    base = json.dumps({"filter": {"a": 1}, "variables": {"first": 50}})
    sent = body_bytes(base, (("variables.after", "abc"), ("page", 3)))
    assert json.loads(sent) == {
        "filter": {"a": 1},
        "variables": {"first": 50, "after": "abc"},
        "page": 3,
    }
    assert json.loads(base) == {"filter": {"a": 1}, "variables": {"first": 50}}  # untouched


def test_a_path_through_a_scalar_makes_an_object_and_no_base_is_an_empty_object() -> None:
    assert json.loads(body_bytes('{"q": 1}', (("q.cursor", "x"),))) == {"q": {"cursor": "x"}}
    assert body_bytes(None, ()) == b"{}"


def test_wide_integers_stay_exact() -> None:
    assert body_bytes(None, (("since", 2**70),)) == b'{"since":1180591620717411303424}'


def test_a_mark_is_an_integer_only_when_its_text_is_one() -> None:
    assert mark_value("123") == 123 and mark_value("-7") == -7
    assert mark_value("0099") == "0099"  # not JSON's spelling of a number: kept as text
    assert (
        mark_value("12.5") == "12.5"
        and mark_value("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00Z"
    )


def test_the_key_names_the_body_values_and_a_get_key_is_unchanged() -> None:
    get = PageRequest("http://x/a", (("page", "2"),))
    assert get.key == "http://x/a?page=2"
    posted = get.given("body", "q.cursor", "c2")
    assert posted.key == 'http://x/a?page=2 {"q.cursor":"c2"}'
    assert posted.given("body", "q.cursor", "c3").body == (("q.cursor", "c3"),)


def test_following_counts_in_the_body_with_numbers() -> None:
    spec = PaginatorSpec(PaginatorType.OFFSET, limit=25, location="body")
    first = PageRequest("http://x/s").given("body", "offset", 0).given("body", "limit", 25)
    second = following(spec, first)
    assert second is not None and dict(second.body) == {"offset": 25, "limit": 25}
    pages = PaginatorSpec(PaginatorType.PAGE_NUMBER, start=0, location="body")
    after = following(pages, PageRequest("http://x/s").given("body", "page", 0))
    assert after is not None and dict(after.body) == {"page": 1}


def test_bodies_that_differ_are_never_guessed() -> None:
    a = PageRequest("http://x/s?page=1", (), (("cursor", "a"),))
    b = PageRequest("http://x/s?page=2", (), (("cursor", "b"),))
    assert counted_on(a, b) is None
    same = PageRequest("http://x/s?page=2", (), (("cursor", "a"),))
    guess = counted_on(a, same)
    assert guess is not None and guess.url == "http://x/s?page=3" and guess.body == a.body


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5).filter(lambda t: "." not in t and '"' not in t),
        st.integers() | st.text(),
        max_size=4,
    )
)
def test_any_values_round_trip(values: dict[str, object]) -> None:
    assert json.loads(body_bytes(None, tuple(values.items()))) == values
