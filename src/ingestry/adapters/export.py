"""Files written atomically: a temporary file beside the target, fsynced, renamed over
it, and the directory fsynced, so a reader sees the old file or the whole new one.

A process killed mid-write cannot delete its temporary file, and exports are large
(issue 14 found 1-98 MB `.tmp` files left in `data/processed/` for ever). So the
writer holds an exclusive `flock` on its temporary file while it writes, and every
write first sweeps the directory: a `.tmp` of ours that nobody holds a lock on belongs
to a dead writer and is removed; a live writer's is never touched (its lock is
released by the kernel only when it exits). Without `fcntl` (Windows) nothing is swept.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

#: Our temporary files: `.{name}.{8 hex}.tmp`.
TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


class _Sink:
    def __init__(self, stream: BinaryIO, target: Path) -> None:
        self.stream = stream
        self.target = target

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def rename(self, name: str) -> None:
        """Where the file lands when complete: `name` in the same directory."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"not a file name: {name!r}")
        self.target = self.target.with_name(name)


def _lock(stream: BinaryIO, *, wait: bool) -> bool:
    """An exclusive flock on the open file; False when another process holds one."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not Linux or macOS
        return True
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def sweep_orphans(directory: Path) -> list[Path]:
    """Remove the temporary files dead writers left in `directory`; returns them."""
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - no locks: no way to tell a live writer
        return []
    removed = []
    try:
        paths = [p for p in directory.iterdir() if TEMPORARY.match(p.name)]
    except FileNotFoundError:
        return []
    for path in paths:
        try:
            with path.open("rb") as stream:
                if _lock(stream, wait=False):
                    path.unlink(missing_ok=True)
                    removed.append(path)
        except FileNotFoundError:
            continue  # its writer finished (renamed it) meanwhile
    if removed:
        log.warning(
            "removed %d temporary files left by killed writers in %s", len(removed), directory
        )
    return removed


@contextmanager
def atomic_file(path: Path) -> Iterator[_Sink]:
    """`path` written whole or not at all (the sink may `rename` it before the end)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_orphans(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("wb") as stream:
            _lock(stream, wait=True)  # ours alone: a sweep never removes a live file
            sink = _Sink(stream, path)
            yield sink
            stream.flush()
            os.fsync(stream.fileno())
            tmp.replace(sink.target)  # while still locked: no sweep sees it unlocked first
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
