"""The provenance union: parsing rejects anything that is not exactly one known shape."""

from __future__ import annotations

from typing import Any

import pytest

from ingestry.domain.errors import InvalidSourceError
from ingestry.domain.provenance import (
    PROVENANCE_TYPES,
    DepositionSource,
    ForkSource,
    HarvestSource,
    ImportSource,
    RecordSource,
    source_from_dict,
    source_to_dict,
)

ALL_SOURCES: list[RecordSource] = [
    DepositionSource(id="d-1"),
    HarvestSource(id="h-1", harvest_run_srn="srn:ingestry:run:1", upstream_source="zenodo"),
    ForkSource(id="f-1", source_node="https://node-a.example"),
    ImportSource(id="i-1", source_node="https://node-b.example"),
]


def test_provenance_types_are_the_four_of_the_design() -> None:
    assert PROVENANCE_TYPES == ("deposition", "harvest", "fork", "import")


@pytest.mark.parametrize("source", ALL_SOURCES, ids=lambda s: s.type)
def test_round_trip_through_dict(source: RecordSource) -> None:
    data = source_to_dict(source)
    assert source_from_dict(data) == source
    assert type(source_from_dict(data)) is type(source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (ALL_SOURCES[0], {"type": "deposition", "id": "d-1"}),
        (
            ALL_SOURCES[1],
            {
                "type": "harvest",
                "id": "h-1",
                "harvest_run_srn": "srn:ingestry:run:1",
                "upstream_source": "zenodo",
            },
        ),
        (ALL_SOURCES[2], {"type": "fork", "id": "f-1", "source_node": "https://node-a.example"}),
        (ALL_SOURCES[3], {"type": "import", "id": "i-1", "source_node": "https://node-b.example"}),
    ],
)
def test_to_dict_shape_has_type_first(source: RecordSource, expected: dict[str, str]) -> None:
    data = source_to_dict(source)
    assert data == expected
    assert next(iter(data)) == "type"


def test_fork_and_import_with_same_fields_are_different_sources() -> None:
    fork = source_from_dict({"type": "fork", "id": "x", "source_node": "n"})
    imported = source_from_dict({"type": "import", "id": "x", "source_node": "n"})
    assert fork != imported
    assert source_to_dict(fork) != source_to_dict(imported)
    assert type(fork) is ForkSource
    assert type(imported) is ImportSource


@pytest.mark.parametrize("kind", [None, "", "Deposition", "harvested", "upload", 3, ["fork"]])
def test_unknown_type_is_rejected(kind: Any) -> None:
    with pytest.raises(InvalidSourceError, match="unknown provenance type"):
        source_from_dict({"type": kind, "id": "x"})


def test_missing_type_is_rejected() -> None:
    with pytest.raises(InvalidSourceError, match="unknown provenance type None"):
        source_from_dict({"id": "x"})


def test_unknown_type_message_lists_known_types() -> None:
    with pytest.raises(InvalidSourceError) as info:
        source_from_dict({"type": "upload", "id": "x"})
    for kind in PROVENANCE_TYPES:
        assert kind in str(info.value)


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        ({"type": "deposition"}, "id"),
        ({"type": "deposition", "id": ""}, "id"),
        ({"type": "deposition", "id": None}, "id"),
        ({"type": "harvest", "id": "x", "upstream_source": "u"}, "harvest_run_srn"),
        ({"type": "harvest", "id": "x", "harvest_run_srn": "r"}, "upstream_source"),
        ({"type": "harvest", "harvest_run_srn": "r", "upstream_source": "u"}, "id"),
        ({"type": "fork", "id": "x"}, "source_node"),
        ({"type": "import", "id": "x", "source_node": ""}, "source_node"),
    ],
)
def test_missing_field_is_rejected(data: dict[str, Any], missing: str) -> None:
    with pytest.raises(InvalidSourceError, match=f"needs '{missing}'"):
        source_from_dict(data)


@pytest.mark.parametrize(
    ("data", "extra"),
    [
        ({"type": "deposition", "id": "x", "source_node": "n"}, "source_node"),
        (
            {"type": "fork", "id": "x", "source_node": "n", "harvest_run_srn": "r"},
            "harvest_run_srn",
        ),
        (
            {"type": "harvest", "id": "x", "harvest_run_srn": "r", "upstream_source": "u", "z": 1},
            "z",
        ),
        ({"type": "import", "id": "x", "source_node": "n", "version": 2}, "version"),
    ],
)
def test_extra_field_is_rejected(data: dict[str, Any], extra: str) -> None:
    with pytest.raises(InvalidSourceError, match="unknown fields") as info:
        source_from_dict(data)
    assert extra in str(info.value)


def test_non_string_values_become_strings() -> None:
    source = source_from_dict({"type": "deposition", "id": 42})
    assert source == DepositionSource(id="42")
    assert source_to_dict(source) == {"type": "deposition", "id": "42"}


def test_sources_are_frozen() -> None:
    source = DepositionSource(id="x")
    with pytest.raises(AttributeError):
        source.id = "y"  # type: ignore[misc]


def test_type_is_a_class_constant_not_a_field() -> None:
    assert HarvestSource(id="a", harvest_run_srn="r", upstream_source="u").type == "harvest"
    assert DepositionSource.type == "deposition"
    assert ForkSource.type == "fork"
    assert ImportSource.type == "import"
