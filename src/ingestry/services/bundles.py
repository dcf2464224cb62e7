"""Importing a raw bundle (docs/export.md, format 1): each payload's bytes, checked
against its sha256, ingested into the bundle's source as an ingest of those payloads
would be, so the target holds the same raw bytes and the same records (same srns).

Reading the files and checking the manifest is the adapter's (`adapters/importfile.py`);
this module checks each payload and feeds the ingest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from ingestry.domain.errors import InputError
from ingestry.extract.jsonio import loads

#: A bundle line as read: (file name, line number, bytes).
Line = tuple[str, int, bytes]


def bundle_payloads(lines: Iterable[Line]) -> Iterator[bytes]:
    """The payloads of a bundle's `{source}_raw.jsonl`, in order, each checked against
    its sha256 and size; InputError naming the file and line when one does not match
    (nothing from a damaged bundle may pass as good bytes)."""
    for name, number, line in lines:
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            entry: Any = loads(line)
            data = base64.b64decode(entry["bytes"], validate=True)
            sha256, size = entry["sha256"], entry.get("size")
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InputError(f"{where}: not a raw bundle payload ({exc!s})") from None
        if hashlib.sha256(data).hexdigest() != sha256 or (size is not None and size != len(data)):
            raise InputError(f"{where}: the payload's bytes do not match its sha256/size")
        yield data
