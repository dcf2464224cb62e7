"""Compressed inputs (gzip, bz2, zstd), recognised by magic bytes or extension and read
as a stream: the payloads are the decompressed rows; the compressed file's sha256 is
computed from the bytes the decompressor read (plus any it left), in the same pass.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from ingestry.domain.errors import InputError

#: magic bytes → compression
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))
EXTENSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}


def compression_of(path: Path) -> str | None:
    """The file's compression: its magic bytes decide; an extension that promises one
    the bytes do not have refuses the file (InputError)."""
    with path.open("rb") as f:
        head = f.read(4)
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    promised = EXTENSIONS.get(path.suffix.lower())
    if promised and head:
        raise InputError(
            f"cannot read {path}: the name says {promised} but it is not {promised} data"
        )
    return None


def inner_name(path: Path) -> str:
    """`orders.csv.gz` → `orders.csv` (what the decompressed stream is)."""
    return path.stem if path.suffix.lower() in EXTENSIONS else path.name


class HashingReader:
    """A file read through sha256: what a decompressor reads is hashed and counted."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        self.position += len(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


class Container:
    """One compressed file: opened decompressed as often as needed; `sha256` is the
    compressed bytes' digest once a read went to the end."""

    def __init__(self, path: Path, compression: str) -> None:
        self.path = path
        self.compression = compression
        # known before the first row, so every receipt of the file can name it; the
        # read checks it again (a file rewritten meanwhile fails the run)
        with path.open("rb") as f:
            self.digest = hashlib.file_digest(f, "sha256").digest()
        self.sha256 = self.digest.hex()
        self._reader: HashingReader | None = None

    @property
    def position(self) -> int:
        """Compressed bytes read so far (the progress against the file's size)."""
        return self._reader.position if self._reader else 0

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror}") from None
        with raw:
            reader = self._reader = HashingReader(raw)
            stream = _decompressing(reader, self.compression, str(self.path))
            try:
                yield _Checked(stream, str(self.path))  # type: ignore[misc]
            finally:
                stream.close()
            reader.drain()  # bytes after the last frame still belong to the file
            if reader.digest.digest() != self.digest:
                raise InputError(f"{self.path} changed while it was read; ingest it again")


def _decompressing(hashing: HashingReader, compression: str, name: str) -> BinaryIO:
    reader = cast(BinaryIO, hashing)  # it has the `read` the decompressors call
    # imported here, not with the module: a plain file's ingest never loads them
    if compression == "gzip":
        import gzip

        return cast(BinaryIO, gzip.GzipFile(fileobj=reader, mode="rb"))
    if compression == "bz2":
        import bz2

        return cast(BinaryIO, bz2.BZ2File(reader, mode="rb"))
    try:
        import zstandard
    except ImportError:
        raise InputError(
            f"cannot read {name}: zstd needs the zstandard package: pip install "
            "'ingestry[zstd]' (from a checkout: pip install -e '.[zstd]')"
        ) from None
    return cast(BinaryIO, zstandard.ZstdDecompressor().stream_reader(reader))


@functools.cache
def _corrupt_errors() -> tuple[type[Exception], ...]:
    """What a decompressor raises on corrupt data: built on the first such error (an
    `except` clause evaluates its expression only then), so zstandard is not imported
    with the module."""
    try:
        import zstandard
    except ImportError:
        return (OSError, EOFError, ValueError)
    return (OSError, EOFError, ValueError, zstandard.ZstdError)


class _Checked:
    """A decompressed stream whose corrupt data is an InputError naming the file."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self._stream = stream
        self._name = name

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except _corrupt_errors() as exc:
            raise InputError(f"cannot read {self._name}: corrupt compressed data ({exc})") from None

    def __iter__(self) -> Iterator[bytes]:
        rest = b""
        while chunk := self.read(1 << 20):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield line + b"\n"
        if rest:
            yield rest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
