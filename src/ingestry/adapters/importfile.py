"""Reading what `ingestry import PATH` takes: a records export file, or the directory
`export --out` wrote (its `*.jsonl` files in name order)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from ingestry.domain.errors import InputError

RAW_BUNDLE = "ingestry-raw-bundle"


def export_files(path: Path) -> list[Path]:
    """The JSON Lines files of a records export; InputError for anything else."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"{path}: no such file or directory (give what export --out wrote)")
    manifest = path / "manifest.json"
    if manifest.is_file():
        kind = orjson.loads(manifest.read_bytes()).get("format")
        if kind == RAW_BUNDLE:
            raise InputError(
                f"{path} is a raw bundle: importing raw bundles is not built yet "
                "(docs/data-out.md); export the records with --format jsonl instead"
            )
    files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
    if not files:
        raise InputError(f"{path}: no *.jsonl records export in it")
    return files


def export_lines(path: Path) -> Iterator[tuple[str, int, bytes]]:
    """(file name, line number, bytes) of every line, streaming."""
    for file in export_files(path):
        with file.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                yield file.name, number, line
