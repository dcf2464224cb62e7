"""The record aggregate and its deterministic identity."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestry.domain.provenance import RecordSource

SRN_PREFIX = "srn:ingestry:record:"


def record_srn(convention: str, source_type: str, source_id: str) -> str:
    """The srn of a record, the same on every node: a hash of its identity.

    The convention stays readable in the srn so storage can find the record's table
    without a lookup; the rest is 128 bits of BLAKE2b over (convention, type, id).
    """
    key = f"{convention}\x1f{source_type}\x1f{source_id}".encode()
    digest = hashlib.blake2b(key, digest_size=16).digest()
    return f"{SRN_PREFIX}{convention}:{base64.b32encode(digest).decode().rstrip('=').lower()}"


def convention_of(srn: str) -> str:
    """The convention named inside a record srn (raises ValueError if not a record srn)."""
    if not srn.startswith(SRN_PREFIX):
        raise ValueError(f"not a record srn: {srn!r}")
    convention, sep, digest = srn[len(SRN_PREFIX) :].rpartition(":")
    if not sep or not convention or len(digest) != 26:
        raise ValueError(f"not a record srn: {srn!r}")
    return convention


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
