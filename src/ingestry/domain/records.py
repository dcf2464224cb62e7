"""The record aggregate and its deterministic identity."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from ingestry.domain.provenance import RecordSource

SRN_PREFIX = "srn:ingestry:record:"


def record_srn(convention: str, source_type: str, source_id: str) -> str:
    """The srn of a record: its identity, spelled out, so every node derives the same one.

    `srn:ingestry:record:<convention>:<provenance type>:<percent-encoded id>`. Being
    invertible, it needs no index of its own: storage finds a record through its
    identity key `(source_type, source_id)`.
    """
    return f"{SRN_PREFIX}{convention}:{source_type}:{quote(source_id, safe='')}"


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def change_srns(changes: Iterable[tuple[str, str, str, int]]) -> list[str]:
    """`record_srn` of many (convention, source_type, source_id, …) at once: ids made
    only of unreserved characters (what `quote` leaves alone) are checked together,
    in one C-level match over all of them, and spelled without `quote` (~10x faster)."""
    items = list(changes)
    if _UNRESERVED.fullmatch("".join(c[2] for c in items)):
        return [f"{SRN_PREFIX}{c[0]}:{c[1]}:{c[2]}" for c in items]
    return [record_srn(c[0], c[1], c[2]) for c in items]


def parse_srn(srn: str) -> tuple[str, str, str]:
    """(convention, provenance type, source id) of a record srn; ValueError if not one."""
    if not srn.startswith(SRN_PREFIX):
        raise ValueError(f"not a record srn: {srn!r}")
    parts = srn[len(SRN_PREFIX) :].split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"not a record srn: {srn!r}")
    convention, source_type, quoted = parts
    return convention, source_type, unquote(quoted)


def convention_of(srn: str) -> str:
    """The convention named inside a record srn (raises ValueError if not a record srn)."""
    return parse_srn(srn)[0]


@dataclass(frozen=True, slots=True)
class Record:
    """A typed record as stored: identity, provenance, content and version."""

    srn: str
    convention: str
    source: RecordSource
    metadata: Mapping[str, Any]
    columns: Mapping[str, Any]
    version: int
    published_at: datetime
    updated_at: datetime
    data_source: str | None = None
    extractor_version: str | None = None
    raw_sha256: str | None = None
