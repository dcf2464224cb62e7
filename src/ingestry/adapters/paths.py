"""Server-side paths confined to the data root.

A job names a file by a path relative to the data root. The path is refused when it
is absolute, contains `..`, or resolves (following every symlink) outside the root,
and it must be a regular file. The check runs at submit and again when the job runs.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ingestry.domain.errors import InputError, PathOutsideDataRootError


def confine(root: Path, relative: str) -> Path:
    """The resolved file under `root` that `relative` names, or an error saying why not."""
    if not relative or "\x00" in relative:
        raise PathOutsideDataRootError("a file path relative to the data root is required")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise PathOutsideDataRootError(
            f"'{relative}' must be relative to the data root, without '..'"
        )
    base = root.resolve()
    target = (base / pure).resolve()
    if not target.is_relative_to(base):
        raise PathOutsideDataRootError(f"'{relative}' resolves outside the data root")
    if not target.exists():
        raise InputError(f"cannot read '{relative}' under the data root: no such file")
    if not target.is_file():
        raise InputError(f"cannot read '{relative}' under the data root: not a regular file")
    return target
