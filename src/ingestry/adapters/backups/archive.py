"""The files of a backup: a directory with `manifest.json`, or one tar file of it.

A backup appears whole or not at all: it is written into a staging directory beside
its destination and renamed into place (a `.tar` is written to a temporary name and
renamed). Data files are already compressed, so the tar is not compressed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingestry.domain.backups import MANIFEST_NAME, SCHEDULED_PREFIX, BackupError, Manifest

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_tar(path: Path) -> bool:
    return path.suffix == ".tar"


class BackupDirectory:
    """`BackupFiles` on the local file system."""

    @contextmanager
    def staging(self, out: Path) -> Iterator[Path]:
        if out.exists():
            raise BackupError(f"{out}: already exists; name a new file or directory for --out")
        out.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            yield staged
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def hashes(self, directory: Path) -> dict[str, str]:
        return {
            p.name: sha256_file(p)
            for p in sorted(directory.iterdir())
            if p.is_file() and p.name != MANIFEST_NAME
        }

    def publish(self, staged: Path, manifest: Manifest, out: Path) -> int:
        text = json.dumps(manifest.as_dict(), indent=2) + "\n"
        (staged / MANIFEST_NAME).write_text(text, encoding="utf-8")
        if is_tar(out):
            partial = out.with_name(f".{out.name}.partial")
            with tarfile.open(partial, "w") as tar:
                for path in sorted(staged.iterdir()):
                    tar.add(path, arcname=path.name)
            _fsync(partial)
            partial.replace(out)
            return out.stat().st_size
        size = sum(p.stat().st_size for p in staged.iterdir())
        for path in staged.iterdir():
            _fsync(path)
        staged.rename(out)
        staged.mkdir()  # `staging` removes it again
        return size

    @contextmanager
    def opened(self, path: Path) -> Iterator[tuple[Path, Manifest]]:
        if not path.exists():
            raise BackupError(f"{path}: no such backup (give the path `backup --out` wrote)")
        if path.is_dir():
            yield path, _manifest(path)
            return
        scratch = Path(tempfile.mkdtemp(prefix=".ingestry-verify-", dir=path.parent))
        try:
            _unpack(path, scratch)
            yield scratch, _manifest(scratch, where=path)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def backups_in(self, directory: Path) -> list[Path]:
        if not directory.is_dir():
            return []
        return sorted(
            p for p in directory.iterdir() if p.name.startswith(SCHEDULED_PREFIX) and is_tar(p)
        )

    def remove(self, path: Path) -> None:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _manifest(directory: Path, where: Path | None = None) -> Manifest:
    file = directory / MANIFEST_NAME
    label = f"{where}: {MANIFEST_NAME}" if where else str(file)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{label}: missing; this is no ingestry backup") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(
            f"{label}: damaged ({exc}); the backup cannot be trusted: use another one"
        ) from None
    if not isinstance(data, dict):
        raise BackupError(f"{label}: damaged (not a JSON object); use another backup")
    return Manifest.from_dict(label, data)


def _unpack(path: Path, into: Path) -> None:
    """Extract the tar's plain files (no links, no paths outside `into`)."""
    try:
        with tarfile.open(path, "r") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if not member.isfile() or name != member.name:
                    raise BackupError(f"{path}: unexpected entry {member.name!r} in the tar")
                source = tar.extractfile(member)
                assert source is not None
                with source, (into / name).open("wb") as target:
                    shutil.copyfileobj(source, target, CHUNK)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(
            f"{path}: damaged or truncated tar file ({exc}); the backup cannot be "
            "trusted: use another one"
        ) from None


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
