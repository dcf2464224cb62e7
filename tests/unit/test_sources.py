"""The seed-000 decision tree and the Data Sources markdown table."""

from __future__ import annotations

import itertools

import pytest

from ingestry.domain.sources import (
    CLASSIFY_QUESTIONS,
    ClassifyAnswers,
    DataSource,
    SourceFormat,
    StorageStrategy,
    classify,
    sources_table,
)

RAW, SIMPLE = StorageStrategy.RAW, StorageStrategy.SIMPLE


def _source(name: str, strategy: StorageStrategy, rationale: str) -> DataSource:
    return DataSource(
        name=name,
        strategy=strategy,
        convention="c",
        rationale=rationale,
        format=SourceFormat.JSONL,
        id_paths=(("id",),),
    )


def test_questions_cover_every_answer_field() -> None:
    names = [name for name, _ in CLASSIFY_QUESTIONS]
    assert names == ["refetchable", "customer_provided", "rate_limited", "audit", "unstable_schema"]
    assert all(question.endswith("?") for _, question in CLASSIFY_QUESTIONS)


def test_refetchable_with_nothing_else_is_simple() -> None:
    result = classify(ClassifyAnswers(refetchable=True))
    assert result.strategy is SIMPLE
    assert "Re-fetchable" in result.rationale


def test_not_refetchable_is_raw() -> None:
    result = classify(ClassifyAnswers(refetchable=False))
    assert result.strategy is RAW
    assert "Cannot be re-fetched" in result.rationale


def test_uncertain_refetch_defaults_to_raw() -> None:
    result = classify(ClassifyAnswers(refetchable=None))
    assert result.strategy is RAW
    assert "certainty" in result.rationale


@pytest.mark.parametrize(
    ("field", "phrase"),
    [
        ("customer_provided", "Customer-provided"),
        ("rate_limited", "Rate-limited"),
        ("audit", "Audit/compliance"),
        ("unstable_schema", "schema"),
    ],
)
@pytest.mark.parametrize("refetchable", [True, False, None])
def test_each_raw_reason_wins_over_refetchable(
    field: str, phrase: str, refetchable: bool | None
) -> None:
    answers = ClassifyAnswers(refetchable=refetchable, **{field: True})
    result = classify(answers)
    assert result.strategy is RAW
    assert phrase in result.rationale
    assert "Cannot be re-fetched" not in result.rationale


def test_audit_overrides_refetchable() -> None:
    result = classify(ClassifyAnswers(refetchable=True, audit=True))
    assert result.strategy is RAW
    assert result.rationale == "Audit/compliance requirement, need proof of original data"


def test_all_reasons_are_joined_in_question_order() -> None:
    result = classify(
        ClassifyAnswers(
            refetchable=True,
            customer_provided=True,
            rate_limited=True,
            audit=True,
            unstable_schema=True,
        )
    )
    parts = result.rationale.split("; ")
    assert len(parts) == 4
    assert parts[0].startswith("Customer-provided")
    assert parts[1].startswith("Rate-limited")
    assert parts[2].startswith("Audit")
    assert parts[3].startswith("Unstable")


def test_simple_only_when_refetchable_and_no_reason() -> None:
    refetch_answers: list[bool | None] = [True, False, None]
    flags = [False, True]
    for refetch, customer, rate, audit, unstable in itertools.product(
        refetch_answers, flags, flags, flags, flags
    ):
        answers = ClassifyAnswers(refetch, customer, rate, audit, unstable)
        expected = (
            SIMPLE if refetch is True and not (customer or rate or audit or unstable) else RAW
        )
        assert classify(answers).strategy is expected, answers
        assert classify(answers).rationale


def test_sources_table_header_rows_sorted_and_strategy_upper() -> None:
    table = sources_table(
        [
            _source("zeta", SIMPLE, "Public API"),
            _source("alpha", RAW, "Customer uploads"),
        ]
    )
    assert table.endswith("\n")
    lines = table.splitlines()
    assert lines == [
        "| Source | Strategy | Rationale |",
        "|--------|----------|-----------|",
        "| alpha | RAW | Customer uploads |",
        "| zeta | SIMPLE | Public API |",
    ]


def test_sources_table_escapes_pipes_and_newlines() -> None:
    table = sources_table([_source("s", RAW, "a | b\nc")])
    row = table.splitlines()[2]
    assert row == "| s | RAW | a \\| b c |"
    # the row still has exactly 4 unescaped column separators
    unescaped = row.replace("\\|", "")
    assert unescaped.count("|") == 4


def test_sources_table_empty() -> None:
    assert (
        sources_table([])
        == "| Source | Strategy | Rationale |\n|--------|----------|-----------|\n"
    )


def test_data_source_is_raw() -> None:
    assert _source("a", RAW, "r").is_raw
    assert not _source("a", SIMPLE, "r").is_raw
