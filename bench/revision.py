"""Which ingestry a benchmark measures: the working tree, or a git revision exported.

Figures mean nothing without the code they came from, and the working tree may hold
someone's half-finished change. `--rev REV` exports `src/` at REV into the run's temp
dir and puts it first on the children's PYTHONPATH, so the run is pinned to a commit
(and two revisions can be compared on the same machine and data).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROBE = "import ingestry, pathlib; print(pathlib.Path(ingestry.__file__).parent)"


def git(*args: str) -> str | None:
    """Output of a git command in the repo, or None outside a checkout or on error."""
    try:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return proc.stdout.decode().strip()


def export(rev: str, dest: Path) -> Path:
    """Extract `src/` at rev under dest and return the directory to put on PYTHONPATH."""
    proc = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"], cwd=REPO, capture_output=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench: cannot export src at {rev!r}: {proc.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return dest / "src"


def describe(env: dict[str, str], rev: str | None) -> dict[str, Any]:
    """Where the children import ingestry from, and the commit it corresponds to."""
    package = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "package": package,
        "revision": git("rev-parse", rev or "HEAD"),
        "exported": rev is not None,
        # only meaningful for the working tree: uncommitted edits under src/
        "src_dirty": None if rev else bool(git("status", "--porcelain", "--", "src")),
        "ingestry_workers": env.get("INGESTRY_WORKERS"),  # None: ingestry's default
    }
