"""Server-side paths confined to the data root.

A job names a file by a path relative to the data root. The path is refused when it
is absolute, contains `..`, or resolves (following every symlink) outside the root,
and it must be a regular file. The check runs at submit and again when the job runs.

A job submitted over the API reads only from its source's inbox, `data/inbox/{source}/`
(DESIGN, "Jobs' files"), and never one of the store's own files: with the whole data
root open to every key, a job could ingest `ingestry.db`, its WAL, or another key's
export. Operators' jobs (the CLI) keep the data root.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ingestry.domain.errors import InputError, PathOutsideDataRootError

#: Longer paths are refused before the file system sees them (Linux: PATH_MAX 4096).
MAX_PATH_CHARS = 1024


def confine(
    root: Path, relative: str, where: str = "the data root", forbidden: Iterable[Path] = ()
) -> Path:
    """The resolved file under `root` that `relative` names, or an error saying why not
    (`where` names the root in it); a file in `forbidden` is refused too."""
    if not relative or "\x00" in relative:
        raise PathOutsideDataRootError(f"a file path relative to {where} is required")
    if len(relative) > MAX_PATH_CHARS:
        raise InputError(
            f"a path of {len(relative)} characters is too long (at most {MAX_PATH_CHARS})"
        )
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise PathOutsideDataRootError(f"'{relative}' must be relative to {where}, without '..'")
    try:
        base = root.resolve()
        target = (base / pure).resolve()
        if not target.is_relative_to(base):
            raise PathOutsideDataRootError(f"'{relative}' resolves outside {where}")
        if target in {f.resolve() for f in forbidden}:
            raise PathOutsideDataRootError(f"'{relative}' is one of the store's own files")
        if not target.exists():
            raise InputError(f"cannot read '{relative}' under {where}: no such file")
        if not target.is_file():
            raise InputError(f"cannot read '{relative}' under {where}: not a regular file")
    except OSError as exc:  # a name too long for the file system, a loop of symlinks
        raise InputError(f"cannot read '{relative[:200]}' under {where}: {exc.strerror}") from None
    return target
