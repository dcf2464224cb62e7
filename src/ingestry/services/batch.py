"""Turn frames into the rows one batch writes: pure, no I/O, the hot loop.

Per frame: hash the exact bytes, extract (a failure becomes a quarantine row with its
reason and line), and build the record row with its deterministic srn and content hash.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson

from ingestry.domain.errors import ExtractionError
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Draft, Extractor
from ingestry.extract.csvcells import CellPart
from ingestry.extract.framing import Frame
from ingestry.extract.jsonio import DUMP_OPTS, NestingError, dumps, may_hold_long_integers
from ingestry.services.ports import RawRow, RecordRow
from ingestry.services.ports.batches import LazyRows as LazyRows
from ingestry.services.ports.batches import PreparedBatch as PreparedBatch

T = TypeVar("T")

_sha256 = hashlib.sha256
_blake2b = hashlib.blake2b
_orjson_dumps = orjson.dumps

#: Rows the columnar path takes at once: its passes over 5,000 rows' objects (a batch)
#: miss the cache, over ~500 they do not (20,000 narrow rows, 8 alternating runs: the
#: extract part ~8% under the row path's in slices of 500, ~5% over it in one pass).
COLUMNAR_SLICE = 512


@dataclass(frozen=True, slots=True)
class Provenance:
    """How records of this batch were received; `fields` complete the source object,
    `upstream` is the identity's upstream (see `domain.records`)."""

    type: str
    fields: bytes  # JSON members after "id", e.g. b',"harvest_run_srn":"…","upstream_source":"…"'
    upstream: str = ""

    @classmethod
    def of(cls, kind: str, **fields: str) -> Provenance:
        members = b"".join(
            b"," + orjson.dumps(k) + b":" + orjson.dumps(v) for k, v in fields.items()
        )
        return cls(kind, members, fields.get("upstream_source") or fields.get("source_node", ""))


def batch_keys(batch: PreparedBatch) -> tuple[str | bytes, ...]:
    """The keys a batch's writes take locks on: its records' source ids (the raw rows of
    a source share them) and the sha256 of each quarantined payload. Two batches with
    disjoint keys can be written side by side (see `services.lanes`); CSV headers are
    the caller's to add."""
    return (*(r[1] for r in batch.records), *(q[1] for q in batch.quarantine))


def reason_of(exc: Exception) -> str:
    """The quarantine reason of a payload that failed extraction (ingest and replay
    give the same one)."""
    if isinstance(exc, ExtractionError | NestingError):
        return str(exc)
    return f"metadata is not JSON-serializable: {exc}"


def prepare_batch(
    frames: Sequence[Frame],
    source: DataSource,
    extractor: Extractor,
    provenance: Provenance,
    *,
    received_at: str,
    origin: str,
    header: tuple[bytes, bytes] | None = None,
    blob: bytes | None = None,
    columnar: bool | None = None,
    slices: Iterable[Sequence[Frame]] | None = None,
) -> PreparedBatch:
    """Build raw, record and quarantine rows for a batch of frames; `blob`, when the
    caller has it, holds every payload (the block of whole lines they were cut from).
    CSV rows take the extractor's columnar path when it has one and it is worthwhile
    (`columnar` True or False forces the choice: the tests compare the two paths); a
    row it cannot prove, and its failure's reason, takes the row path. `slices`, given
    with `blob` instead of `frames` (empty then), yields the frames a few hundred at a
    time, each part framed when the loop reaches it: its rows are still in cache when
    they are extracted, hashed and encoded (a CSV block framed whole, then prepared,
    took ~10% longer)."""
    raw_rows: list[RawRow] = []
    record_rows: list[RecordRow] = []
    out = PreparedBatch(raw=raw_rows, records=record_rows)  # `received`: counted by part
    keep_raw = source.is_raw
    name = source.name
    convention = extractor.convention.name
    version = extractor.version
    source_head = b'{"type":"' + provenance.type.encode() + b'","id":'
    source_tail = provenance.fields + b"}"
    header_sha = header[0] if header else None
    if header is not None and keep_raw:
        out.headers.append(header)
    ptype = provenance.type
    upstream = provenance.upstream
    content_of = extractor.content
    # a blank hasher copied per row: blake2b(data, digest_size=16) parses its keywords
    # at every call (~0.1 µs a row, about a fifth of the hash)
    blank = _blake2b(digest_size=16).copy
    exact = may_hold_long_integers(
        blob if blob is not None else [f[1] for f in frames if f[2] is None]
    )
    parse = extractor.parse if exact else extractor.parse_plain
    of_row = extractor.of_row
    plan = extractor.columnar if columnar is not False else None
    if plan is not None and columnar is None and not plan.worthwhile:
        plan = None
    if slices is None:
        # in slices: a slice's rows stay in cache across its column passes and its rows'
        # hashing and JSON (a pass over a whole batch's row objects misses the cache)
        step = COLUMNAR_SLICE if plan is not None else max(len(frames), 1)
        slices = (
            frames[k : k + step] if step < len(frames) else frames
            for k in range(0, len(frames), step)
        )
    else:
        assert blob is not None and not frames, "slices come with their blob, no frames"
    for part in slices:
        out.received += len(part)
        drafts: list[Draft | None]
        if isinstance(part, CellPart):  # framed for the plan: its rows hold the metadata
            if plan is not None:
                drafts = plan.part_drafts(part)
            else:
                part.restore(range(len(part)))
                drafts = [None] * len(part)
        elif plan is not None:
            drafts = plan.drafts([f[2] if f[3] is None else None for f in part])
        else:
            drafts = [None] * len(part)
        for (line, payload, row, framing_error), ready in zip(part, drafts, strict=True):
            # a simple source's payload hash is read only if the row is quarantined
            sha = _sha256(payload).digest() if keep_raw else b""
            try:
                if framing_error is not None:
                    raise ExtractionError(framing_error)
                source_id, entity_type, columns, meta = ready or (
                    of_row(row, payload) if row is not None else parse(payload)
                )  # a Draft, unpacked once (its fields are properties)
                if type(meta) is str:  # a plain CSV part's: its canonical JSON (csvcells)
                    text, metadata = meta, meta.encode()
                else:
                    try:  # orjson straight (~0.1 µs a row less than through `dumps`)
                        metadata = _orjson_dumps(meta, option=DUMP_OPTS)
                    except TypeError:  # what orjson refuses: `dumps` says why, or writes it
                        metadata = dumps(meta)
                    text = metadata.decode()
            except (ExtractionError, ValueError, TypeError) as exc:  # or metadata not JSON-able
                reason = reason_of(exc)
                sha = sha or _sha256(payload).digest()
                out.quarantine.append((name, sha, payload, line, origin, reason, received_at))
                if keep_raw:
                    raw_rows.append(
                        (name, convention, "", sha, payload, header_sha, received_at, received_at,
                         version, reason, line, origin)
                    )  # fmt: skip
                continue
            hasher = blank()
            hasher.update(content_of(columns) + b"\x1e" + metadata)
            content = hasher.digest()
            record_rows.append(
                (ptype, source_id, (source_head + orjson.dumps(source_id) + source_tail).decode(),
                 name, text, content, version, sha if keep_raw else None, columns,
                 upstream)
            )  # fmt: skip
            if keep_raw:
                raw_rows.append(
                    (name, entity_type, source_id, sha, payload, header_sha, received_at,
                     received_at, version, None, line, origin)
                )  # fmt: skip
    if header is not None and out.quarantine:
        out.quarantine_header = header
    if len({r[1] for r in record_rows}) != len(record_rows):
        out.repeated = last_occurrences(record_rows)
        out.duplicate_ids = len(out.repeated)
    return out


def last_occurrences(rows: list[RecordRow]) -> tuple[str, ...]:
    """Keep only the last row of each identity (in place, in row order): an id repeated
    among a batch's payloads is one record, its last occurrence winning, and counts once.
    Returns the ids that repeated."""
    keys = [(r[0], r[9], r[1]) for r in rows]
    last = {key: n for n, key in enumerate(keys)}
    repeated = tuple(key[2] for key, count in Counter(keys).items() if count > 1)
    rows[:] = [r for n, r in enumerate(rows) if last[keys[n]] == n]
    return repeated
