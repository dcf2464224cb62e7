"""Backups as values: the manifest a backup carries and the checks made against it.

A backup is a directory (or one tar file of it) holding the store's data files and
`manifest.json`. The manifest names the schema revision, the node, the row count of
every table, a checksum over the content (raw payload hashes, record content hashes)
and the sha256 of every data file, so `verify` and `restore` can tell a good backup
from a damaged one before trusting it (see docs/backups.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestry.domain.errors import IngestryError

#: The manifest's format; a reader refuses another one instead of guessing.
MANIFEST_FORMAT = "ingestry-backup/1"
MANIFEST_NAME = "manifest.json"
#: Scheduled backups are tar files named by their UTC moment, so names sort by age.
SCHEDULED_PREFIX = "ingestry-backup-"


class BackupError(IngestryError):
    """A backup that cannot be written, read, trusted or restored (names the file, the
    reason and what to do)."""


@dataclass(frozen=True, slots=True)
class ContentDigest:
    """What a store holds, in a form two stores can be compared by: the row count of
    every table and one sha256 over the raw payload and record content hashes."""

    tables: Mapping[str, int]
    checksum: str

    def mismatches(self, other: ContentDigest) -> list[str]:
        """Each difference, in words (empty when the two match)."""
        problems = [
            f"table {name}: {self.tables.get(name)} rows expected, {other.tables.get(name)} found"
            for name in sorted(set(self.tables) | set(other.tables))
            if self.tables.get(name) != other.tables.get(name)
        ]
        if self.checksum != other.checksum:
            problems.append(f"content checksum {self.checksum} expected, {other.checksum} found")
        return problems


@dataclass(frozen=True, slots=True)
class Manifest:
    """The description of one backup (written as `manifest.json`)."""

    created_at: str
    dialect: str
    schema_revision: str | None
    node_id: str | None
    content: ContentDigest
    #: sha256 (hex) of every data file, by its name inside the backup.
    files: Mapping[str, str] = field(default_factory=dict)
    #: Backend details a restore needs (e.g. the PostgreSQL schema dumped).
    details: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "created_at": self.created_at,
            "dialect": self.dialect,
            "schema_revision": self.schema_revision,
            "node_id": self.node_id,
            "tables": dict(sorted(self.content.tables.items())),
            "content_checksum": self.content.checksum,
            "files": dict(sorted(self.files.items())),
            "details": dict(sorted(self.details.items())),
        }

    @classmethod
    def from_dict(cls, where: str, data: Mapping[str, Any]) -> Manifest:
        """Parse a manifest read from `where`, or a BackupError naming what is wrong."""
        if data.get("format") != MANIFEST_FORMAT:
            raise BackupError(
                f"{where}: not an ingestry backup manifest (format {data.get('format')!r}, "
                f"expected {MANIFEST_FORMAT!r})"
            )
        try:
            content = ContentDigest(
                {str(k): int(v) for k, v in dict(data["tables"]).items()},
                str(data["content_checksum"]),
            )
            return cls(
                created_at=str(data["created_at"]),
                dialect=str(data["dialect"]),
                schema_revision=_optional(data["schema_revision"]),
                node_id=_optional(data.get("node_id")),
                content=content,
                files={str(k): str(v) for k, v in dict(data["files"]).items()},
                details={str(k): str(v) for k, v in dict(data.get("details") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(
                f"{where}: damaged manifest ({type(exc).__name__}: {exc}); "
                "the backup cannot be trusted: use another one"
            ) from None


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def scheduled_name(moment: datetime) -> str:
    return f"{SCHEDULED_PREFIX}{moment.strftime('%Y%m%dT%H%M%SZ')}.tar"


def newer_than_code(revision: str | None, head: str) -> bool:
    """A schema revision this code does not know yet. Revision ids are timestamps
    (`YYYYMMDD_HHMMSS`), so a later one sorts after the code's head."""
    return revision is not None and revision > head


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What `backup`, `verify` and `restore` report (`--json`)."""

    path: str
    ok: bool
    manifest: Manifest
    seconds: float
    bytes: int = 0
    problems: tuple[str, ...] = ()
    pruned: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        values = self.manifest.as_dict()
        return {
            "path": self.path,
            "ok": self.ok,
            "problems": list(self.problems),
            "bytes": self.bytes,
            "seconds": self.seconds,
            "created_at": values["created_at"],
            "dialect": values["dialect"],
            "schema_revision": values["schema_revision"],
            "node_id": values["node_id"],
            "tables": values["tables"],
            "content_checksum": values["content_checksum"],
            "files": values["files"],
            "pruned": list(self.pruned),
        }


@dataclass(frozen=True, slots=True)
class BackupSettings:
    """`backup:` in ingestry.yaml: a cron schedule, how many to keep, where they go."""

    schedule: str
    keep: int
    out: Path
