"""Backups: the database side (`BackupEngine`) and the file side (`BackupFiles`)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ingestry.domain.backups import ContentDigest, Manifest


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a backend read from one consistent snapshot while writing its data files."""

    schema_revision: str | None
    node_id: str | None
    content: ContentDigest
    details: Mapping[str, str] = field(default_factory=dict)


class BackupEngine(Protocol):
    """One backend's way of copying a live store out and back in."""

    dialect: str

    def snapshot(self, into: Path) -> Snapshot:
        """Write the store's data files into the directory `into`, all from one
        consistent snapshot taken while ingests keep running; the digest is of that
        same snapshot."""
        ...

    def scratch_digest(self, backup: Path, manifest: Manifest) -> ContentDigest:
        """Restore the backup in `backup` into a scratch store, digest it, drop it."""
        ...

    def holds_data(self) -> bool:
        """Whether the live store holds any raw payload, record or run."""
        ...

    def restore(self, backup: Path, manifest: Manifest) -> ContentDigest:
        """Replace the live store's content with the backup's; the digest of what was
        restored. Raises BackupError without touching the store when the restored copy
        does not match `manifest` and the backend can check before replacing."""
        ...


class BackupFiles(Protocol):
    """The files of backups: staging, hashing, manifests, tar files, pruning."""

    def staging(self, out: Path) -> AbstractContextManager[Path]:
        """A fresh directory beside `out` to write a backup into (removed on exit)."""
        ...

    def hashes(self, directory: Path) -> dict[str, str]:
        """sha256 (hex) of every file in `directory` but the manifest."""
        ...

    def publish(self, staged: Path, manifest: Manifest, out: Path) -> int:
        """Write the manifest, then move the staged backup to `out` (a `.tar` file or a
        directory) whole; its size in bytes."""
        ...

    def opened(self, path: Path) -> AbstractContextManager[tuple[Path, Manifest]]:
        """The backup at `path` (directory or `.tar` file) as a directory, and its
        manifest."""
        ...

    def backups_in(self, directory: Path) -> list[Path]:
        """The backups `backup` wrote in `directory`, oldest first (by name)."""
        ...

    def remove(self, path: Path) -> None: ...
