"""A whole JSON document's items framed at C speed, when that is provably exact.

`framing.json_frames` walks a document token by token in Python (~5 µs an item of a
harvested page: bench/README.md, "Harvest: pages framed through orjson"). Most API
pages are compact JSON written as orjson writes it. For a document held whole (a
request body, a harvested page), orjson parses it and must write the same bytes back
(so no key repeats: orjson keeps a repeated key's last value, the framer its first);
then each item of its array is written back, and the joined array is found in the
document: each item's exact bytes are known from the lengths, with no Python step
per byte. A document written otherwise (spaces, other
escapes or number spellings, repeated keys...) does not match, and the caller frames
it with `json_frames`. Both give the same frames (a hypothesis test compares them).
"""

from __future__ import annotations

from typing import Any

import orjson

from ingestry.extract.framing import _WS, Frame


def exact_items(
    body: bytes, path: tuple[str, ...] | None, *, numbered: bool = False, parsed: bool = False
) -> list[Frame] | None:
    """The frames `json_frames([body], records_path=path)` gives (a top-level array's
    items, or those of the array at `path`), or None when they cannot be proved this
    way (the caller takes `json_frames`, which also names what is wrong). `numbered`:
    each frame's line is the item's position (1-based). `parsed`: an object item's
    frame holds it as parsed here (its `row`), so the extractor need not parse its
    bytes again; orjson gives the same object from them, since they are its own
    writing of it, and no integer past 64 bits is in them (the document would not
    have written back the same)."""
    try:
        doc = orjson.loads(body)
        # the whole document as orjson writes it: no duplicate key (orjson keeps the
        # last, the framer the first), no other spelling anywhere in it
        if orjson.dumps(doc) != body.strip(_WS):
            return None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    items: Any = doc
    for key in path or ():
        if not isinstance(items, dict) or key not in items:
            return None
        items = items[key]
    if not isinstance(items, list):
        return None
    parts = [orjson.dumps(item) for item in items]  # written whole above: each one writes
    if items is doc:  # the document is the array, written as orjson writes a list
        at = len(body) - len(body.lstrip(_WS))
    else:
        at = body.find(b"[" + b",".join(parts) + b"]")
        if at < 0:  # orjson writes a list so, inside a document too: not expected
            return None
    # the document is orjson's own spelling, so the array is in it; were its bytes
    # there twice, both would give these frames: orjson writes no raw newline, so
    # every item starts on the line the document does
    line = 1 + body.count(b"\n", 0, at)
    frames: list[Frame] = []
    start = at + 1
    for n, (part, item) in enumerate(zip(parts, items, strict=True), 1):
        end = start + len(part)
        row = item if parsed and type(item) is dict else None
        frames.append(Frame(n if numbered else line, body[start:end], row))
        start = end + 1
    return frames
