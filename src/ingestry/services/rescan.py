"""Re-ingest without re-preparing: find the payloads a batch would change nothing with.

Ingesting a file again (a retried upload, overlapping exports) is mostly payloads the
store holds already: the raw row is a duplicate and the record is unchanged. Preparing
such a payload (exact parse, extraction, canonical metadata, hashes, rows) is most of
what a re-ingest costs, only to find out that nothing is to be written. A *scan* is the
least that identifies it: the sha256 of the bytes and a guess at its source id. The
storage then says which payloads are no-ops (see `PayloadProbe` in `ports`), and only
the others are prepared and written.

The guess is the declarative extractor's id (same exact parse, same paths, same
spelling), but nothing depends on it being right: a payload counts as a no-op only if
the store has its raw row under that id AND the record with that id was built from
these very bytes (same sha256) by this extractor version for this source. Extraction
is deterministic, so such a payload would produce that record again; a wrong guess
finds nothing and the payload is prepared as usual. A guess is never a reason to skip,
only to look. Payloads whose id occurs more than once in the batch are never skipped:
in "B, then A again" the A restores a record B changed, so it is not a no-op even when
A is what the store holds before the batch.

Whether to scan is decided batch by batch from what the previous batches were (see
`RescanPolicy`): a first ingest never scans.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ingestry.extract.framing import Frame
from ingestry.extract.jsonio import JSONError, loads
from ingestry.extract.paths import as_index

_sha256 = hashlib.sha256
_MISSING = object()

#: (frame index, source id guess, sha256 of the payload); frames without a guess are
#: left out (they are prepared as usual).
ScanKey = tuple[int, str, bytes]


def guess_id(doc: Any, id_paths: tuple[tuple[str, ...], ...]) -> str | None:
    """The source id as the compiled extractor spells it (numbers as text, composite
    ids joined with '|'), or None where it would fail or this cannot tell."""
    parts = []
    for path in id_paths:
        value = doc
        for segment in path:
            if type(value) is dict:
                value = value.get(segment, _MISSING)
            elif type(value) is list:
                index = as_index(segment)
                if index is None or not -len(value) <= index < len(value):
                    return None
                value = value[index]
            else:
                return None
        if type(value) is str:
            if not value:
                return None
            parts.append(value)
        elif type(value) in (int, float):
            parts.append(str(value))
        else:
            return None
    return "|".join(parts)


def scan_batch(frames: Sequence[Frame], id_paths: tuple[tuple[str, ...], ...]) -> list[ScanKey]:
    """Hash every payload and guess its id (parsed rows as they are, JSON parsed
    exactly); ids that occur more than once in the batch are left out."""
    keys: list[ScanKey] = []
    for n, (_, payload, row, error) in enumerate(frames):
        if error is not None:
            continue
        doc: Any = row
        if doc is None:
            try:
                doc = loads(payload)
            except JSONError:
                continue
        if type(doc) is not dict:
            continue
        guess = guess_id(doc, id_paths)
        if guess is not None:
            keys.append((n, guess, _sha256(payload).digest()))
    if len({k[1] for k in keys}) == len(keys):
        return keys
    seen = Counter(k[1] for k in keys)
    return [k for k in keys if seen[k[1]] == 1]


class RescanPolicy:
    """Scan the next batches while most payloads of the last one were no-ops (a raw
    duplicate with an unchanged record); prepare them in full otherwise. Starts in
    full: a first ingest never scans."""

    THRESHOLD = 0.5

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.scan = False

    def observe(self, received: int, no_ops: int) -> None:
        if self.enabled and received:
            self.scan = no_ops >= received * self.THRESHOLD
