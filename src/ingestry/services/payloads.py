"""An Input over in-memory payloads (Python API, HTTP bodies)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ingestry.extract.framing import Frame


class PayloadInput:
    """Payloads given as bytes, str or JSON-able objects; objects are serialized once."""

    size: int | None = None
    header: tuple[bytes, bytes] | None = None

    def __init__(self, payloads: Iterable[Any], name: str = "<api>") -> None:
        self.name = name
        self._payloads = payloads
        self.position = 0

    def frames(self) -> Iterator[Frame]:
        for number, payload in enumerate(self._payloads, 1):
            if isinstance(payload, bytes):
                data = payload
            elif isinstance(payload, str):
                data = payload.encode()
            else:
                data = _dumps(payload)
            self.position += len(data)
            yield Frame(number, data)


def _dumps(payload: Any) -> bytes:
    """A JSON-able object as compact JSON in its own key order; integers beyond 64 bits
    (which orjson refuses) through the standard library, exactly."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        try:
            return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            raise TypeError(f"payload is not JSON-able: {type(payload).__name__}") from None
