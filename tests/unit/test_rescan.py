"""The re-ingest scan: id guesses spelled like the compiled extractor's, and no skip
candidates for ids that repeat within a batch."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from ingestry.extract.framing import Frame
from ingestry.services.rescan import RescanPolicy, guess_id, scan, scan_batch

ID = (("id",),)


@pytest.mark.parametrize(
    ("doc", "paths", "expected"),
    [
        ({"id": "A-1"}, ID, "A-1"),
        ({"id": 7}, ID, "7"),
        ({"id": 2.5}, ID, "2.5"),
        ({"id": 123456789012345678901234567890}, ID, "123456789012345678901234567890"),
        ({"id": ""}, ID, None),
        ({"id": None}, ID, None),
        ({"id": True}, ID, None),
        ({"id": {"x": 1}}, ID, None),
        ({"other": 1}, ID, None),
        ({"a": {"b": "x"}, "c": 3}, (("a", "b"), ("c",)), "x|3"),
        ({"items": [{"sku": "s0"}, {"sku": "s1"}]}, (("items", "1", "sku"),), "s1"),
        ({"items": [{"sku": "s0"}]}, (("items", "-1", "sku"),), "s0"),
        ({"items": [{"sku": "s0"}]}, (("items", "3", "sku"),), None),
        ({"items": "flat"}, (("items", "0"),), None),
    ],
)
def test_guess_id_spells_ids_like_the_extractor(
    doc: dict[str, object], paths: tuple[tuple[str, ...], ...], expected: str | None
) -> None:
    assert guess_id(doc, paths) == expected


def _frame(line: int, doc: object) -> Frame:
    return Frame(line, orjson.dumps(doc))


def test_scan_hashes_payloads_and_keeps_frame_positions() -> None:
    frames = [_frame(1, {"id": "a"}), _frame(2, {"id": "b"})]
    keys = scan_batch(frames, ID)
    assert keys == [
        (0, "a", hashlib.sha256(frames[0].payload).digest()),
        (1, "b", hashlib.sha256(frames[1].payload).digest()),
    ]


def test_scan_leaves_out_what_it_cannot_read_and_repeated_ids() -> None:
    frames = [
        Frame(1, b'{"id": "broken'),
        Frame(2, b'{"id": "x"}', None, "framing error"),
        _frame(3, [1, 2]),
        _frame(4, {"id": "r", "v": 1}),
        _frame(5, {"id": "keep"}),
        _frame(6, {"id": "r", "v": 2}),
        Frame(7, b"", {"id": "csv"}),
    ]
    assert [(n, ident) for n, ident, _ in scan_batch(frames, ID)] == [(4, "keep"), (6, "csv")]


def test_scan_names_every_key_the_batch_can_lock() -> None:
    """Write lanes run a scanned batch beside others only when their keys are disjoint:
    every guessed id (repeated ones too) and every payload's sha256 (a payload the guess
    cannot read fails extraction, so it can only be quarantined, under its sha256)."""
    frames = [
        Frame(1, b'{"id": "broken'),
        Frame(2, b'{"id": "x"}', None, "framing error"),
        _frame(3, {"id": "r", "v": 1}),
        _frame(4, {"id": "r", "v": 2}),
        _frame(5, {"id": "keep"}),
    ]
    keys, touched = scan(frames, ID)
    assert [ident for _, ident, _ in keys] == ["keep"]
    shas = {hashlib.sha256(f.payload).digest() for f in frames}
    assert frozenset(touched) == frozenset({"r", "keep", *shas})


def test_policy_scans_only_after_a_batch_of_mostly_no_ops() -> None:
    policy = RescanPolicy(enabled=True)
    assert not policy.scan
    policy.observe(10, 6)
    assert policy.scan
    policy.observe(10, 2)
    assert not policy.scan
    off = RescanPolicy(enabled=False)
    off.observe(10, 10)
    assert not off.scan


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id":"A-1","x":1}',
        b'{ "id" : "A-1" }',
        b'{"id":12,"x":1}',
        b'{"id":-0}',
        b'{"id":123456789012345678901234567890}',
        b'{"id":12.5}',
        b'{"id":1e3}',
        b'{"id":""}',
        b'{"id":"A","x":{"id":"B"}}',
        b'{"id":"A","id":"B"}',
        b'{"id":"A","\\u0069d":"B"}',
        b'{"id":"\\u0041"}',
        b'{"x":1,"id":"late"}',
        b'{"id":"S\xc3\xa3o"}',
        b'{"id":"bad \xff"}',
        b'{"id":null}',
        b'{"id":"A"',
        b'{"id":"A"} trailing',
    ],
)
def test_reading_the_id_off_the_bytes_agrees_with_parsing(payload: bytes) -> None:
    """Where the exact parser reads the payload, the scan's id is the parser's (the fast
    path declines rather than differ). A payload it refuses never made a record, so
    whatever is guessed for it finds nothing to skip."""
    scanned = [(n, ident) for n, ident, _ in scan_batch([Frame(1, payload)], ID)]
    doc = _loads_or_none(payload)
    if doc is not None:
        expected = guess_id(doc, ID)
        assert scanned == ([] if expected is None else [(0, expected)])


def _loads_or_none(payload: bytes) -> dict[str, object] | None:
    from ingestry.extract.jsonio import JSONError, loads

    try:
        value = loads(payload)
    except JSONError:
        return None
    return value if isinstance(value, dict) else None
