"""Lines of encoded text: split by bytes, decoded one line at a time, bytes kept exact.

A CSV row is stored as the bytes received, whatever the encoding, so lines are cut in
the encoded bytes (for UTF-16, at a two-byte newline on an even offset) and decoded on
their own. `encoding: auto` decodes each line as UTF-8 and, when it is not, with the
fallback: a per-line choice that needs no look-ahead and that replay makes again from
the stored bytes alone.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

_BOM8 = b"\xef\xbb\xbf"


class Codec:
    """How the lines of one input are cut and decoded; `used` counts lines per encoding
    actually applied (what `auto` chose), for the run summary."""

    def __init__(self, encoding: str, fallback: str = "cp1252") -> None:
        self.encoding = encoding
        self.fallback = fallback
        self.used: dict[str, int] = {}
        self.wide = encoding == "utf-16"
        self._wide_codec = "utf-16-le"  # BOM decides; no BOM: little-endian
        self._single = "utf-8" if encoding == "auto" else codecs.lookup(encoding).name

    @property
    def newline(self) -> bytes:
        if not self.wide:
            return b"\n"
        return "\n".encode(self._wide_codec)

    def lines(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The input's lines, each with its terminator (the last one maybe without).
        In an ASCII-compatible encoding `chunks` are lines already (a binary file's
        iteration): they pass through untouched, at no cost per line."""
        if not self.wide:
            return iter(chunks)
        return self._wide_lines(chunks)

    def _wide_lines(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        buf = b""
        first = True
        for chunk in chunks:
            buf += chunk
            if first and len(buf) >= 2:
                first = False
                if buf.startswith(b"\xfe\xff"):
                    self._wide_codec = "utf-16-be"
            newline = self.newline
            start = 0
            while True:
                at = buf.find(newline, start)
                while at != -1 and at % 2:
                    at = buf.find(newline, at + 1)
                if at == -1:
                    break
                yield buf[: at + 2]
                buf = buf[at + 2 :]
                start = 0
        if buf:
            yield buf

    def decode(self, line: bytes, first: bool) -> str:
        """The text of one line (terminator included); raises UnicodeDecodeError."""
        if self.wide:
            if first and line[:2] in (b"\xff\xfe", b"\xfe\xff"):
                line = line[2:]
            return self._count(self._wide_codec, line.decode(self._wide_codec))
        if first and line.startswith(_BOM8) and self._single in ("utf-8", "auto"):
            line = line[3:]
        if self.encoding != "auto":
            return self._count(self._single, line.decode(self._single))
        try:
            return self._count("utf-8", line.decode("utf-8"))
        except UnicodeDecodeError:
            return self._count(self.fallback, line.decode(self.fallback))

    @property
    def plain_encoding(self) -> str | None:
        """The encoding a line after the first decodes with through `bytes.decode`
        alone (no BOM, no fallback), or None where `decode` must be called."""
        if self.wide or self.encoding == "auto":
            return None
        return self._single

    def encode(self, text: str) -> bytes:
        """Text in this input's encoding (a header made from declared names)."""
        if self.wide:
            return text.encode(self._wide_codec)
        return text.encode("utf-8" if self.encoding == "auto" else self._single)

    def strip_eol(self, line: bytes) -> bytes:
        """The line without its terminator (LF or CRLF, encoded)."""
        nl = self.newline
        if line.endswith(nl):
            line = line[: -len(nl)]
            cr = "\r".encode(self._wide_codec) if self.wide else b"\r"
            if line.endswith(cr) and (not self.wide or len(line) % 2 == 0):
                line = line[: -len(cr)]
        return line

    def what(self) -> str:
        """The encoding a line failed to decode in, for the quarantine reason."""
        if self.encoding == "auto":
            return f"UTF-8 or {self.fallback}"
        return "UTF-8" if self._single == "utf-8" else self.encoding

    def _count(self, name: str, text: str) -> str:
        self.used[name] = self.used.get(name, 0) + 1
        return text


def check_encoding(name: str) -> str | None:
    """Why `name` cannot be a source's encoding, or None when it can."""
    if name in ("auto", "utf-16"):
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        return f"unknown encoding '{name}'"
    try:
        if "\n\r,;".encode(info.name) != b"\n\r,;":
            return f"encoding '{name}' is not ASCII-compatible (only utf-16 of those is read)"
    except UnicodeError:
        return f"encoding '{name}' cannot write a newline"
    return None
