"""The local WorkSpace: hooks' work_dirs as directories under the data dir.

Each run gets a fresh directory (a re-delivered event, or a hook a dead dispatcher left
running, never sees another run's files); it is removed once its features are stored.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from ingestry.domain.features import MAX_FEATURE_BYTES, MAX_FEATURES

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class LocalWorkSpace:
    """work_dirs under `root` (`<data>/work`), `<features_dir>/<hook>.<random>/`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self, base: Path, hook: str, record_json: bytes, raw: bytes | None) -> Path:
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{_UNSAFE.sub('_', hook)}.", dir=base))
        (work / "record.json").write_bytes(record_json)
        if raw is not None:
            (work / "raw.bin").write_bytes(raw)
        (work / "features").mkdir()
        return work

    def read_features(self, work_dir: Path) -> list[tuple[str, bytes]]:
        """Each regular `features/*.json`, read up to one byte over the size limit (so
        the limit is reported, not a huge file loaded)."""
        found: list[tuple[str, bytes]] = []
        for path in sorted((work_dir / "features").glob("*.json")):
            if not path.is_file():
                continue
            with path.open("rb") as f:
                found.append((path.name, f.read(MAX_FEATURE_BYTES + 1)))
            if len(found) > MAX_FEATURES:
                break
        return found

    def remove(self, work_dir: Path) -> None:
        shutil.rmtree(work_dir, ignore_errors=True)
        parent = work_dir.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()  # only when empty: another run may be using it
            except OSError:
                return
            parent = parent.parent
