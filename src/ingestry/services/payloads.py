"""An Input over in-memory payloads (Python API, HTTP bodies)."""

from __future__ import annotations

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
                data = orjson.dumps(payload)
            self.position += len(data)
            yield Frame(number, data)
