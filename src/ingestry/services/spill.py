"""Payloads kept whole without being held: spilled lines and unframeable documents.

A JSON Lines line longer than the source's `max_line_bytes` is quarantined with its
bytes, like any payload that fails, but the reader never held those bytes (see
`inputs.Spilled`): its rows are written with an empty placeholder payload, and the
storage then streams the bytes into them from the input (`fill_payload`), in the same
unit of the same transaction.

A JSON document that does not frame cannot be split into payloads. A raw source keeps
it whole, as one quarantined payload with the framing error as its reason; a simple
source refuses the file (DESIGN, "Refuse or quarantine"). Runs over JSON documents are
one transaction, so a document found unframeable halfway has left nothing behind: the
run is done again with that input taken whole (`take_whole`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ingestry.domain.errors import StrictModeError
from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract.compiler import Extractor
from ingestry.services.inputs import (
    Input,
    Spilled,
    SpillingInput,
    UnframeableError,
    WholeDocument,
)
from ingestry.services.ports import PreparedBatch

#: Formats whose inputs are documents (framed whole or not at all): one transaction a run.
DOCUMENT_FORMATS = frozenset({SourceFormat.JSON, SourceFormat.GEOJSON})


def spilled_of(inputs: Sequence[Input]) -> list[tuple[str, Spilled]]:
    """(origin, payload) of every payload the inputs spilled (once they were read)."""
    return [(i.name, s) for i in inputs if isinstance(i, SpillingInput) for s in i.spilled]


def spilled_batch(
    spill: Spilled, source: DataSource, extractor: Extractor, received_at: str, origin: str
) -> PreparedBatch:
    """The rows a failed payload gets (as `prepare_batch` makes them), with an empty
    placeholder for the bytes `fill_payload` streams in."""
    name = source.name
    batch = PreparedBatch(received=1)
    batch.quarantine = [(name, spill.sha256, b"", spill.line, origin, spill.reason, received_at)]
    if source.is_raw:
        batch.raw = [
            (name, extractor.convention.name, "", spill.sha256, b"", None, received_at,
             received_at, extractor.version, spill.reason, spill.line, origin)
        ]  # fmt: skip
    return batch


def strict_refusal(
    source: DataSource, origin: str | None, line: int | None, reason: str
) -> StrictModeError:
    return StrictModeError(
        f"{source.name}: {origin} line {line}: {reason} (--strict: nothing was written)"
    )


def take_whole(
    source: DataSource, inputs: Sequence[Input], error: UnframeableError, strict: bool
) -> list[Input]:
    """`inputs` with the unframeable one taken whole, for a raw source; otherwise the
    error as the run's answer (a simple source refuses the file, --strict any bad one)."""
    found = [n for n, item in enumerate(inputs) if item is error.input]
    if not source.is_raw or not found or not isinstance(error.input, WholeDocument):
        raise error
    if strict:
        raise strict_refusal(source, inputs[found[0]].name, 1, error.reason) from None
    chosen = list(inputs)
    chosen[found[0]] = error.input.whole(error.reason)
    return chosen
