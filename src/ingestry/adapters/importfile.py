"""Reading what `ingestry import PATH` takes: a records export file, or the directory
`export --out` wrote (its `*.jsonl` files in name order)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ingestry.domain.errors import InputError

RAW_BUNDLE = "ingestry-raw-bundle"


def export_files(path: Path) -> list[Path]:
    """The JSON Lines files of a records export; InputError for anything else."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"{path}: no such file or directory (give what export --out wrote)")
    if raw_bundle(path) is not None:
        raise InputError(f"{path} is a raw bundle, not a records export")
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


#: Bytes read at a time for `export_blocks` (a block holds whole lines: a little more).
BLOCK_BYTES = 4 << 20


def export_blocks(path: Path, block_bytes: int | None = None) -> Iterator[tuple[str, int, bytes]]:
    """(file name, number of its first line, whole lines) of every file, streaming in
    blocks of about `block_bytes` (`BLOCK_BYTES`): what the import's workers parse (a
    block never spans two files; numbering as `export_lines`)."""
    size = block_bytes or BLOCK_BYTES
    for file in export_files(path):
        with file.open("rb") as handle:
            number, rest = 1, b""
            while data := handle.read(size):
                cut = data.rfind(b"\n") + 1
                if not cut:  # no line ends here: a long line goes on
                    rest += data
                    continue
                block = rest + data[:cut] if rest else data[:cut]
                rest = data[cut:]
                yield file.name, number, block
                number += block.count(b"\n")
            if rest:
                yield file.name, number, rest


def export_nodes(path: Path) -> dict[str, str]:
    """Per records export file name, the node id its sidecar manifest
    (`{file}.manifest.json`, written by `export`) names; InputError naming the first
    file without one."""
    nodes: dict[str, str] = {}
    for file in export_files(path):
        manifest = file.with_name(f"{file.name}.manifest.json")
        node = None
        if manifest.is_file():
            try:
                data = orjson.loads(manifest.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{manifest}: not JSON ({exc})") from None
            node = data.get("node_id") if isinstance(data, dict) else None
        if not isinstance(node, str) or not node:
            raise InputError(
                f"{file}: no manifest names the node that exported it ({manifest.name} "
                "missing or without node_id): pass the node as --as-import NODE"
            )
        nodes[file.name] = node
    return nodes


def raw_bundle(path: Path) -> dict[str, Any] | None:
    """The manifest of a raw bundle directory (None when `path` is not one)."""
    manifest = path / "manifest.json"
    if not (path.is_dir() and manifest.is_file()):
        return None
    try:
        data = orjson.loads(manifest.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{manifest}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != RAW_BUNDLE:
        return None
    return data


def bundle_lines(path: Path, manifest: dict[str, Any]) -> Iterator[tuple[str, int, bytes]]:
    """The payload lines of a raw bundle, after checking every file the manifest lists
    (present, its sha256 and size as written); InputError naming the file otherwise."""
    version = manifest.get("format_version")
    if version != 1:
        raise InputError(f"{path}: raw bundle format_version {version!r}; this reads 1")
    source = manifest.get("source")
    payloads = f"{source}_raw.jsonl"
    listed = {f.get("name"): f for f in manifest.get("files") or []}
    if payloads not in listed:
        raise InputError(f"{path}/manifest.json lists no {payloads}")
    for name, entry in listed.items():
        file = path / str(name)
        if not file.is_file():
            raise InputError(f"{file}: listed in the manifest but missing")
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != entry.get("sha256") or file.stat().st_size != entry.get("size"):
            raise InputError(f"{file}: sha256 or size differs from the manifest (damaged?)")
    return _lines(path / payloads)


def _lines(file: Path) -> Iterator[tuple[str, int, bytes]]:
    with file.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            yield file.name, number, line


def bundle_headers(path: Path, source: str) -> dict[str, bytes]:
    """The CSV headers of a raw bundle by their sha256 (hex), each checked against it
    (the file itself was checked against the manifest by `bundle_lines`)."""
    import base64
    import binascii

    file = path / f"{source}_raw_headers.jsonl"
    out: dict[str, bytes] = {}
    if not file.is_file():
        return out
    for name, number, line in _lines(file):
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            data = base64.b64decode(entry["bytes"], validate=True)
            sha = str(entry["sha256"])
        except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error) as exc:
            raise InputError(f"{name} line {number}: not a bundle header ({exc!s})") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise InputError(f"{name} line {number}: the header's bytes do not match its sha256")
        out[sha] = data
    return out


def confined_export(root: Path, relative: str) -> Path:
    """A file or directory under `root` (the export directory, `data/processed/`) that
    `relative` names: no absolute path, no `..`, nothing that resolves (symlinks
    followed) outside `root`, a directory's files included. What an import job reads."""
    from pathlib import PurePosixPath

    from ingestry.adapters.paths import MAX_PATH_CHARS
    from ingestry.domain.errors import PathOutsideDataRootError

    where = "data/processed/"
    if not relative or "\x00" in relative or len(relative) > MAX_PATH_CHARS:
        raise PathOutsideDataRootError(f"a path relative to {where} is required")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise PathOutsideDataRootError(f"'{relative}' must be relative to {where}, without '..'")
    try:
        base = root.resolve()
        target = (base / pure).resolve()
        inside = [target, *(p.resolve() for p in target.iterdir())] if target.is_dir() else [target]
        if any(not p.is_relative_to(base) for p in inside):
            raise PathOutsideDataRootError(f"'{relative}' resolves outside {where}")
        if not target.exists():
            raise InputError(f"cannot read '{relative}' under {where}: no such file or directory")
    except OSError as exc:
        raise InputError(f"cannot read '{relative[:200]}' under {where}: {exc.strerror}") from None
    return target
