"""JSON Lines read by bytes: every line comes out once, as a frame or spilled, with its
exact bytes and number, whatever the lengths, the limit and the reads."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.adapters.lines import LineReader, file_region
from ingestry.domain.errors import InputError
from ingestry.extract.framing import Frame, block_frames, jsonl_frames, line_too_long


class Trickle(io.RawIOBase):
    """A stream that hands out at most `step` bytes a read, as a pipe may."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = io.BytesIO(data)
        self.step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.data.read(min(self.step, size if size >= 0 else self.step))


def framed(data: bytes, limit: int, step: int) -> tuple[list[Frame], LineReader]:
    """Frames and spilled lines of `data` (stdin-like: spilled bytes kept in a spool)."""
    reader = LineReader(Trickle(data, step), "t", limit, None)  # type: ignore[arg-type]
    frames = [f for block, _ in reader.blocks(4) for f in block_frames(block, limit)]
    return frames, reader


SAMPLES = [b"{}", b'{"a":1}', b"", b"  ", b"\r", b"x\r", b"a\rb", b"y" * 40, b" " * 30]
LINES = st.lists(st.sampled_from([*SAMPLES, b"z" * 90 + b"\r"]), max_size=30)


@settings(database=None, deadline=None, max_examples=400)
@given(LINES, st.booleans(), st.integers(1, 60), st.integers(1, 100))
def test_every_line_is_a_frame_or_spilled_with_its_bytes(
    lines: list[bytes], final_newline: bool, limit: int, step: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    frames, reader = framed(data, limit, step)
    got: dict[int, tuple[bytes, str | None]] = {f.line: (f.payload, f.error) for f in frames}
    for s in reader.spilled:
        payload = b"".join(s.chunks())
        assert (len(payload), hashlib.sha256(payload).digest()) == (s.length, s.sha256)
        assert s.line not in got and s.reason == line_too_long(s.length, limit)
        got[s.line] = (payload, s.reason)
    expected = {f.line: (f.payload, f.error) for f in jsonl_frames(io.BytesIO(data), limit)}
    assert got == expected
    assert reader.position == len(data)


def test_a_line_spanning_reads_is_never_held(tmp_path: Path) -> None:
    long = b'{"pad":"' + b"x" * 5000 + b'"}'
    data = b'{"a":1}\r\n' + long + b"\r\n" + b'{"b":2}'
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    stream = Trickle(data, 512)
    reader = LineReader(stream, "in.jsonl", 1000, file_region(str(path)))  # type: ignore[arg-type]
    blocks = list(reader.blocks(10))
    assert all(len(b[1]) < 1000 for b, _ in blocks)  # the long line was not in a block
    (spill,) = reader.spilled
    assert (spill.line, spill.length) == (2, len(long))
    assert b"".join(spill.chunks()) == long  # read again from the file, without the CR
    path.write_bytes(data.replace(b"x", b"y"))  # the file changed meanwhile
    with pytest.raises(InputError, match="changed while it was read"):
        b"".join(spill.chunks())
