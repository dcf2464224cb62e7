"""Prepared batches cross the worker pipe intact: every field, by name (a positional
unpack once put `scan` into `quarantine_header` and `skipped` into `scan`, so every
parallel ingest took its batches for scanned ones)."""

from __future__ import annotations

from dataclasses import fields

from ingestry.adapters.parallel import _pack, _unpack
from ingestry.services.batch import PreparedBatch


def test_every_field_round_trips() -> None:
    batch = PreparedBatch(
        raw=[("src", b"\x01" * 32, b"k", b"{}", "2026-11-23T10:00:00+00:00", "f.csv", 1, None)],  # type: ignore[list-item]
        records=[("harvest", "A-1", "f.csv", b"\x01", "{}", "h", "v1", None, ("x", 1))],  # type: ignore[list-item]
        quarantine=[("src", b"\x02", b"x", 3, "f.csv", "bad", None)],  # type: ignore[list-item]
        headers=[(b"\x03", b"id,total")],
        received=7,
        quarantine_header=(b"\x03", b"id,total"),
        scan=[(0, "A-1", b"\x04")],
        skipped=2,
    )
    packed = _pack(batch)
    assert isinstance(packed, bytes)
    back = _unpack(packed)
    for f in fields(PreparedBatch):
        assert getattr(back, f.name) == getattr(batch, f.name), f.name


def test_defaults_stay_defaults() -> None:
    back = _unpack(_pack(PreparedBatch(received=1)))
    assert (back.scan, back.quarantine_header, back.skipped) == (None, None, 0)


def test_values_marshal_cannot_write_travel_as_the_batch() -> None:
    batch = PreparedBatch(records=[("harvest", object())])  # type: ignore[list-item]
    assert _pack(batch) is batch
    assert _unpack(batch) is batch
