"""The marked Data Sources section `sources docs --write` keeps in a file."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.sources import (
    SECTION_END,
    SECTION_START,
    DataSource,
    SourceFormat,
    StorageStrategy,
    sources_section,
    with_sources_section,
)

text = st.text(st.characters(codec="utf-8"), max_size=200).filter(
    lambda t: "<!-- ingestry:sources" not in t
)


def _source(name: str, rationale: str = "why") -> DataSource:
    return DataSource(
        name=name,
        strategy=StorageStrategy.RAW,
        convention="order",
        rationale=rationale,
        format=SourceFormat.JSONL,
        id_paths=(("id",),),
    )


@given(before=text, after=text)
def test_writing_twice_changes_nothing_and_keeps_the_rest(before: str, after: str) -> None:
    old = sources_section([_source("a")])
    new = sources_section([_source("a"), _source("b", "a | b")])
    document = before + old + after
    once = with_sources_section(document, new)
    assert once == before + new + after
    assert with_sources_section(once, new) == once


@given(document=text)
def test_a_file_without_the_section_gets_it_appended(document: str) -> None:
    section = sources_section([_source("a")])
    written = with_sources_section(document, section)
    assert written.startswith(document) and written.endswith(section)
    assert written.count(SECTION_START) == 1
    assert with_sources_section(written, section) == written


def test_the_table_escapes_pipes_and_a_lost_end_mark_is_refused() -> None:
    section = sources_section([_source("b", "one | two\nlines")])
    assert "| b | RAW | one \\| two lines |" in section
    with pytest.raises(ValueError, match="put the end mark back"):
        with_sources_section(f"x\n{SECTION_START}\nold table\n", section)
    assert SECTION_END in section
