"""The Input port: a named stream of frames (file, stdin, HTTP body) with progress.

Two kinds of payload never travel as frames: a JSON Lines line longer than the source's
`max_line_bytes` that a reader will not hold in memory (`Spilled`: its bytes are read
again, in chunks, when the storage writes them), and a JSON document that does not
frame (`UnframeableError`: a raw source keeps the whole document, `WholeDocument`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from ingestry.extract.framing import Frame, LineBlock
from ingestry.services.ports import Chunks, ReadOptions, Spilled, UnframeableError

__all__ = [
    "BlockInput",
    "Chunks",
    "DescribedInput",
    "Input",
    "ReadOptions",
    "Spilled",
    "SpillingInput",
    "UnframeableError",
    "WholeDocument",
]


class Input(Protocol):
    """Where frames come from; adapters open files, the API wraps request bodies."""

    name: str
    size: int | None  # bytes in all, when known (drives the progress bar)

    def frames(self) -> Iterator[Frame]: ...

    @property
    def header(self) -> tuple[bytes, bytes] | None:
        """(sha256, exact bytes) of a CSV header once read, else None."""
        ...

    @property
    def position(self) -> int:
        """Bytes consumed so far."""
        ...


@runtime_checkable
class BlockInput(Protocol):
    """An input that can also hand out whole lines in blocks, to be framed by the
    preparation workers instead of the reading process (JSON Lines files)."""

    def line_blocks(self, lines: int) -> Iterator[tuple[LineBlock, int]] | None:
        """Blocks of `lines` lines with their line counts, or None when this input is
        not line-framed."""
        ...


@runtime_checkable
class SpillingInput(Protocol):
    """An input that leaves payloads too long to hold out of its frames."""

    @property
    def spilled(self) -> list[Spilled]:
        """The payloads left out so far (complete once the frames are exhausted)."""
        ...


@runtime_checkable
class WholeDocument(Protocol):
    """An input whose whole content can stand in as one quarantined payload."""

    def whole(self, reason: str) -> Input:
        """The same bytes as one payload failing with `reason` (a frame with an error,
        or a `Spilled` payload when longer than `max_line_bytes`)."""
        ...


@runtime_checkable
class DescribedInput(Protocol):
    """An input that says what reading it decided or found (encoding used, delimiter,
    the compressed container's sha256): kept in the run summary's `inputs`."""

    def describe(self) -> dict[str, Any] | None: ...


def described(inputs: Iterable[object]) -> list[dict[str, Any]]:
    """The `inputs` entries of a run summary (inputs with nothing to say are left out)."""
    out = []
    for item in inputs:
        if isinstance(item, DescribedInput):
            entry = item.describe()
            if entry:
                out.append(entry)
    return out
