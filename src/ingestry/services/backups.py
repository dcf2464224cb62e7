"""Backup, verify, restore and scheduled backups with pruning (issue 19 item 1).

The service decides; the backend's `BackupEngine` copies data out and in from one
snapshot, and `BackupFiles` handles files. Nothing is trusted before it is checked:
`verify` and `restore` compare the sha256 of every file with the manifest first, then
the restored content with the manifest's row counts and content checksum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ingestry.domain.backups import (
    SCHEDULED_PREFIX,
    BackupError,
    BackupSummary,
    Manifest,
    newer_than_code,
    scheduled_name,
)
from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.services.ports.backups import BackupEngine, BackupFiles


class BackupService:
    """The one place backups are made, checked and restored (CLI, API jobs, worker)."""

    def __init__(
        self, engine: BackupEngine, files: BackupFiles, head: str, clock: Clock = utc_now
    ) -> None:
        self.engine = engine
        self.files = files
        self.head = head
        self.clock = clock

    def backup(self, out: Path) -> BackupSummary:
        """Write a backup of the live store to `out` (a `.tar` file or a directory)."""
        started = time.perf_counter()
        with self.files.staging(out) as staged:
            created_at = iso(self.clock())
            snap = self.engine.snapshot(staged)
            manifest = Manifest(
                created_at=created_at,
                dialect=self.engine.dialect,
                schema_revision=snap.schema_revision,
                node_id=snap.node_id,
                content=snap.content,
                files=self.files.hashes(staged),
                details=snap.details,
            )
            size = self.files.publish(staged, manifest, out)
        return BackupSummary(str(out), True, manifest, _since(started), size)

    def verify(self, path: Path) -> BackupSummary:
        """Check the files, restore into a scratch store and compare with the manifest;
        `ok` only when everything matches (`problems` lists what does not)."""
        started = time.perf_counter()
        with self.files.opened(path) as (directory, manifest):
            problems = self._file_problems(directory, manifest) or self._dialect(manifest)
            if not problems:
                found = self.engine.scratch_digest(directory, manifest)
                problems = manifest.content.mismatches(found)
        return BackupSummary(str(path), not problems, manifest, _since(started), 0, tuple(problems))

    def restore(self, path: Path, *, replace: bool = False) -> BackupSummary:
        """Replace the store's content with the backup at `path`, after checking it."""
        started = time.perf_counter()
        with self.files.opened(path) as (directory, manifest):
            problems = self._file_problems(directory, manifest) or self._dialect(manifest)
            if problems:
                raise BackupError(
                    f"{path}: refused, the backup is damaged: {'; '.join(problems)}. "
                    "Nothing was restored; use another backup (`ingestry verify` checks one)"
                )
            if newer_than_code(manifest.schema_revision, self.head):
                raise BackupError(
                    f"{path}: refused, the backup's schema revision "
                    f"{manifest.schema_revision} is newer than this ingestry's "
                    f"({self.head}); restore it with the ingestry version that wrote it "
                    "(or a newer one)"
                )
            if not replace and self.engine.holds_data():
                raise BackupError(
                    f"{path}: refused, the store already holds data; pass --replace to "
                    "overwrite it with the backup (stop the API and workers first)"
                )
            found = self.engine.restore(directory, manifest)
            problems = manifest.content.mismatches(found)
        if problems:
            raise BackupError(
                f"{path}: the restored store does not match the backup's manifest: "
                f"{'; '.join(problems)}; restore another backup"
            )
        return BackupSummary(str(path), True, manifest, _since(started))

    def scheduled(self, directory: Path, keep: int | None) -> BackupSummary:
        """One scheduled backup into `directory`, then all but the newest `keep` go
        (None: none go)."""
        summary = self.backup(directory / scheduled_name(self.clock()))
        pruned = () if keep is None else self.prune(directory, keep)
        return BackupSummary(
            summary.path, True, summary.manifest, summary.seconds, summary.bytes, (), pruned
        )

    def prune(self, directory: Path, keep: int) -> tuple[str, ...]:
        """Remove all but the newest `keep` scheduled backups in `directory`."""
        if keep < 1:
            raise BackupError(f"backup: keep must be at least 1 (got {keep})")
        old = self.files.backups_in(directory)[:-keep]
        for path in old:
            self.files.remove(path)
        return tuple(str(p) for p in old)

    def _file_problems(self, directory: Path, manifest: Manifest) -> list[str]:
        found = self.files.hashes(directory)
        problems = [f"file {name} is missing" for name in sorted(set(manifest.files) - set(found))]
        problems += [
            f"file {name} is not in the manifest"
            for name in sorted(set(found) - set(manifest.files))
        ]
        problems += [
            f"file {name}: sha256 {found[name]} does not match the manifest's {digest}"
            for name, digest in sorted(manifest.files.items())
            if name in found and found[name] != digest
        ]
        return problems

    def _dialect(self, manifest: Manifest) -> list[str]:
        if manifest.dialect == self.engine.dialect:
            return []
        return [
            f"the backup is of a {manifest.dialect} store, this store is {self.engine.dialect} "
            "(use a config whose database is of the backup's kind)"
        ]


def latest_backup_age(files: BackupFiles, directory: Path, now: datetime) -> float | None:
    """Seconds since the newest scheduled backup in `directory` (None: there is none)."""
    names = [p.name for p in files.backups_in(directory)]
    if not names:
        return None
    stamp = names[-1][len(SCHEDULED_PREFIX) :].removesuffix(".tar")
    moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds())


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


class BackupScheduler:
    """When the `backup.schedule` is due, submit one backup job. The job's idempotency
    key names the due moment, so with several workers running the same schedule the
    queue keeps one job per moment and one worker runs it."""

    def __init__(
        self,
        next_after: Callable[[datetime], datetime],
        submit: Callable[[str], None],
        clock: Clock = utc_now,
    ) -> None:
        self.next_after = next_after
        self.submit = submit
        self.clock = clock
        self.due = next_after(clock())

    def tick(self) -> str | None:
        """Submit the due backup (its idempotency key) or None when not due yet."""
        now = self.clock()
        if now < self.due:
            return None
        key = f"scheduled-backup:{iso(self.due)}"
        self.submit(key)
        self.due = self.next_after(now)
        return key

    def seconds_left(self) -> float:
        return max(0.0, (self.due - self.clock()).total_seconds())
