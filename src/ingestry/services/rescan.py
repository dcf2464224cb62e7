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
import re
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

#: An object whose first member is the id: a string without escapes, or an integer.
_LEADING_ID = r'\A\s*\{\s*"%s"\s*:\s*(?:"([^"\\]*)"|(-?[0-9]+)\s*[,}])'


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


def leading_id(id_paths: tuple[tuple[str, ...], ...]) -> tuple[re.Pattern[bytes], bytes] | None:
    """For an id at one top-level key: a pattern that reads it off the start of a JSON
    object without parsing the rest, and the quoted key (see `scan_batch`)."""
    if len(id_paths) != 1 or len(id_paths[0]) != 1:
        return None
    key = id_paths[0][0]
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", key):
        return None
    return re.compile((_LEADING_ID % re.escape(key)).encode()), f'"{key}"'.encode()


def scan_batch(frames: Sequence[Frame], id_paths: tuple[tuple[str, ...], ...]) -> list[ScanKey]:
    """Hash every payload and guess its id (see `scan`)."""
    return scan(frames, id_paths)[0]


def scan(
    frames: Sequence[Frame], id_paths: tuple[tuple[str, ...], ...]
) -> tuple[list[ScanKey], tuple[str | bytes, ...]]:
    """Hash every payload and guess its id (parsed rows as they are, JSON parsed
    exactly); ids that occur more than once in the batch are left out of the keys.
    Also what the batch's writes can lock (`batch.batch_keys`): every guessed id and
    every payload's sha256. A payload the guess cannot read fails extraction too (the
    guess follows the extractor), so it can only be quarantined, under its sha256.

    Most JSON objects start with their id, and parsing ~1 KB to read it costs ~10x
    reading it off the start. When the id is one top-level key, the object's first
    member is that key with a plain string or integer, the quoted key occurs nowhere
    else in the payload (no later duplicate wins, no nested key confuses) and there
    is no \\u escape (which could spell the key another way), the id is read off the
    bytes: exactly what the parser would give. Anything else is parsed."""
    fast = leading_id(id_paths)
    keys: list[ScanKey] = []
    shas: list[bytes] = []
    for n, (_, payload, row, error) in enumerate(frames):
        sha = _sha256(payload).digest()
        shas.append(sha)
        if error is not None:
            continue
        guess: str | None = None
        if fast is not None and row is None:
            guess = _read_leading_id(payload, *fast)
        if guess is None:
            guess = _parse_id(payload, row, id_paths)
        if guess is not None:
            keys.append((n, guess, sha))
    touched: tuple[str | bytes, ...] = (*shas, *(k[1] for k in keys))
    if len({k[1] for k in keys}) == len(keys):
        return keys, touched
    seen = Counter(k[1] for k in keys)
    return [k for k in keys if seen[k[1]] == 1], touched


def _read_leading_id(payload: bytes, pattern: re.Pattern[bytes], key: bytes) -> str | None:
    found = pattern.match(payload)
    # the key nowhere after the one matched (the match ends on the closing quote of a
    # string id or just after a number: no later key starts before its last byte), and
    # no \\u escape (a backslash looked for first: memchr speed)
    if found is None or payload.find(key, found.end() - 1) != -1:
        return None
    if b"\\" in payload and b"\\u" in payload:
        return None
    text, number = found.groups()
    if number is not None:
        return str(int(number))
    try:
        return text.decode() or None
    except UnicodeDecodeError:
        return None


def _parse_id(
    payload: bytes, row: dict[str, str | None] | None, id_paths: tuple[tuple[str, ...], ...]
) -> str | None:
    doc: Any = row
    if doc is None:
        try:
            doc = loads(payload)
        except JSONError:
            return None
    return guess_id(doc, id_paths) if type(doc) is dict else None


class RescanPolicy:
    """Scan the next batches while most payloads of the last one were no-ops (a raw
    duplicate with an unchanged record); prepare them in full otherwise. Starts in
    full (a first ingest never scans), unless the ingest sets `scan` first: it does
    when a recent run of the source read an input of the same name (a re-sent file,
    a retry), so even its first batches skip what the store holds unchanged."""

    THRESHOLD = 0.5

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.scan = False

    def observe(self, received: int, no_ops: int) -> None:
        if self.enabled and received:
            self.scan = no_ops >= received * self.THRESHOLD
