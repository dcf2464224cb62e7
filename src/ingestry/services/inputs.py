"""The Input port: a named stream of frames (file, stdin, HTTP body) with progress.

Two kinds of payload never travel as frames: a JSON Lines line longer than the source's
`max_line_bytes` that a reader will not hold in memory (`Spilled`: its bytes are read
again, in chunks, when the storage writes them), and a JSON document that does not
frame (`UnframeableError`: a raw source keeps the whole document, `WholeDocument`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ingestry.services.ports import Chunks, ReadOptions, Receipt, Spilled, UnframeableError
from ingestry.services.ports.inputs import BlockInput as BlockInput
from ingestry.services.ports.inputs import ContainedInput as ContainedInput
from ingestry.services.ports.inputs import DescribedInput as DescribedInput
from ingestry.services.ports.inputs import Input as Input
from ingestry.services.ports.inputs import SpillingInput as SpillingInput
from ingestry.services.ports.inputs import WholeDocument as WholeDocument

__all__ = [
    "BlockInput",
    "Chunks",
    "ContainedInput",
    "DescribedInput",
    "Input",
    "ReadOptions",
    "Spilled",
    "SpillingInput",
    "UnframeableError",
    "WholeDocument",
]


def described(inputs: Iterable[object]) -> list[dict[str, Any]]:
    """The `inputs` entries of a run summary (inputs with nothing to say are left out)."""
    out = []
    for item in inputs:
        if isinstance(item, DescribedInput):
            entry = item.describe()
            if entry:
                out.append(entry)
    return out


def receipts_of(run: str, inputs: Iterable[object]) -> Callable[[str | None], Receipt] | None:
    """The receipt of a batch by its input's name (`origin`): the run's, plus the
    compressed file's name and sha256 for a batch read out of one; None when no input
    is compressed (every batch takes the run's receipt)."""
    plain = Receipt(run)
    contained: dict[str, Receipt] = {}
    for item in inputs:
        if isinstance(item, ContainedInput) and (found := item.container_of()) is not None:
            contained[found[0]] = Receipt(run, found[0], found[1])
    if not contained:
        return None
    return lambda origin: contained.get(origin, plain) if origin is not None else plain
