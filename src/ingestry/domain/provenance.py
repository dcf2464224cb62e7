"""Provenance: where a record came from, as a discriminated union on `type`.

The pair (`type`, `id`) together with the convention is a record's identity, so the
same payload published twice through the same pathway is one record, while the same id
arriving by another pathway is another record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ingestry.domain.errors import InvalidSourceError

ProvenanceType = Literal["deposition", "harvest", "fork", "import"]


@dataclass(frozen=True, slots=True)
class DepositionSource:
    """Pushed by a client (API deposit, Python `publish_record`)."""

    id: str
    type: ClassVar[Literal["deposition"]] = "deposition"


@dataclass(frozen=True, slots=True)
class HarvestSource:
    """Pulled or bulk-loaded by a run (file ingest, harvest of an archive)."""

    id: str
    harvest_run_srn: str
    upstream_source: str
    type: ClassVar[Literal["harvest"]] = "harvest"


@dataclass(frozen=True, slots=True)
class ForkSource:
    """Copied from another ingestry node to diverge from it."""

    id: str
    source_node: str
    type: ClassVar[Literal["fork"]] = "fork"


@dataclass(frozen=True, slots=True)
class ImportSource:
    """Imported from another ingestry node as-is."""

    id: str
    source_node: str
    type: ClassVar[Literal["import"]] = "import"


RecordSource = DepositionSource | HarvestSource | ForkSource | ImportSource

_FIELDS: dict[str, tuple[type[RecordSource], tuple[str, ...]]] = {
    "deposition": (DepositionSource, ("id",)),
    "harvest": (HarvestSource, ("id", "harvest_run_srn", "upstream_source")),
    "fork": (ForkSource, ("id", "source_node")),
    "import": (ImportSource, ("id", "source_node")),
}

PROVENANCE_TYPES: tuple[str, ...] = tuple(_FIELDS)


def source_from_dict(data: Mapping[str, Any]) -> RecordSource:
    """Parse a provenance object; unknown types, missing or extra fields are errors."""
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise InvalidSourceError(
            f"unknown provenance type {kind!r}; expected one of {', '.join(PROVENANCE_TYPES)}"
        )
    cls, fields = _FIELDS[kind]
    extra = set(data) - set(fields) - {"type"}
    if extra:
        raise InvalidSourceError(f"{kind} provenance has unknown fields: {sorted(extra)}")
    values: dict[str, str] = {}
    for name in fields:
        value = data.get(name)
        if value is None or value == "":
            raise InvalidSourceError(f"{kind} provenance needs '{name}'")
        values[name] = str(value)
    return cls(**values)


def source_keys(kind: str) -> tuple[str, ...] | None:
    """The keys of a provenance object of this type in `source_to_dict`'s order
    (`type` first), or None for an unknown type."""
    known = _FIELDS.get(kind)
    return None if known is None else ("type", *known[1])


def source_to_dict(source: RecordSource) -> dict[str, str]:
    """The JSON shape of a provenance object: `type` first, then its fields."""
    _, fields = _FIELDS[source.type]
    out: dict[str, str] = {"type": source.type}
    for name in fields:
        out[name] = getattr(source, name)
    return out
