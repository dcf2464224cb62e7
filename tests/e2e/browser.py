"""A real browser for end-to-end tests: Debian's Chromium driven by Playwright (nothing
downloads a browser), screenshots kept as artifacts, and checks on what they show.

Artifacts: `<pytest basetemp>/ui-artifacts/<test>/NN-page.png` (run pytest with
`--basetemp=DIR` to keep them at a known place; CI keeps the default
/tmp/pytest-of-root/pytest-N/ui-artifacts).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("INGESTRY_TEST_CHROMIUM", "/usr/bin/chromium"))
#: axe-core as `.ci/run` installs it from the npm registry (or INGESTRY_TEST_AXE_JS).
AXE_JS = Path(
    os.environ.get(
        "INGESTRY_TEST_AXE_JS",
        Path.home() / ".cache" / "ingestry-axe" / "node_modules" / "axe-core" / "axe.min.js",
    )
)


def require_browser() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if os.environ.get("INGESTRY_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium (the system one; `--no-sandbox` since CI runs as root)."""
    from playwright.sync_api import sync_playwright

    path = require_browser()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(path), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


def png_colours(data: bytes, limit: int = 64) -> int:
    """How many distinct pixel values a PNG holds (counting stops at `limit`); stdlib
    only: the five PNG filters undone row by row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth=} {colour=}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    seen: set[bytes] = set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        previous = line
        for x in range(0, stride, bpp * 7):  # a sample of each row is plenty
            seen.add(bytes(line[x : x + bpp]))
            if len(seen) >= limit:
                return len(seen)
    return len(seen)


UNLABELLED_JS = """
() => {
  const out = [];
  for (const el of document.querySelectorAll('input, select, textarea, button')) {
    if (el.type === 'hidden') continue;
    const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby') || el.getAttribute('title')
      || (el.tagName === 'BUTTON' && el.textContent.trim());
    if (!named) out.push(el.outerHTML.slice(0, 120));
  }
  return out;
}
"""


def unlabelled_controls(page: Any) -> list[str]:
    """Form controls with no accessible name (our own check, run on every page)."""
    return list(page.evaluate(UNLABELLED_JS))


def axe_violations(page: Any) -> list[dict[str, Any]] | None:
    """axe-core's violations on the page (WCAG 2 A/AA rules), or None when axe-core is
    not installed (CI requires it: `.ci/run` installs it)."""
    if not AXE_JS.exists():
        if os.environ.get("INGESTRY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"axe-core not found at {AXE_JS} (.ci/run installs it with npm)")
        return None
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag',"
        " values: ['wcag2a', 'wcag2aa']}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.html)}))"
    )
    return list(result)
