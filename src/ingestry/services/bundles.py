"""Importing a raw bundle (docs/export.md, format 1): each payload's bytes, checked
against its sha256, ingested into the bundle's source as an ingest of those payloads
would be, so the target holds the same raw bytes and the same records (same srns);
then the import run's own receipts are replaced by the bundle's, so every arrival the
exporting store recorded (run, received_at, origin, line, container) is kept.

Reading the files and checking the manifest is the adapter's (`adapters/importfile.py`);
this module checks each payload, frames CSV rows again under their header, and writes
the receipts back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestry.domain.clock import iso
from ingestry.domain.errors import InputError
from ingestry.domain.sources import DataSource
from ingestry.extract.csvframes import CSVFrames, framed_csv
from ingestry.extract.framing import Frame
from ingestry.extract.jsonio import loads
from ingestry.services.inputs import ReadOptions
from ingestry.services.ports import Receipt, ReceiptKey
from ingestry.services.ports.rawops import RawSession

#: A bundle line as read: (file name, line number, bytes).
Line = tuple[str, int, bytes]
#: One receipt as the bundle keeps it: (run_srn, received_at, origin, line, container,
#: container_sha256).
BundleReceipt = tuple[str | None, str, str | None, int | None, str | None, bytes | None]


@dataclass(frozen=True, slots=True)
class BundlePayload:
    """One checked payload of a bundle and what the target must remember of it."""

    source_id: str
    sha256: bytes
    data: bytes
    header_sha256: str | None
    receipts: tuple[BundleReceipt, ...]


def _moment(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"received_at must be an ISO time, not {value!r}")
    return iso(datetime.fromisoformat(value))


def _receipts(entry: Mapping[str, Any]) -> tuple[BundleReceipt, ...]:
    out: list[BundleReceipt] = []
    for r in entry.get("receipts") or ():
        container_sha = r.get("container_sha256")
        out.append((
            r.get("run_srn"), _moment(r["received_at"]), r.get("origin"), r.get("line"),
            r.get("container"), bytes.fromhex(container_sha) if container_sha else None,
        ))  # fmt: skip
    return tuple(out)


def bundle_documents(lines: Iterable[Line]) -> Iterator[BundlePayload]:
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
            receipts = _receipts(entry)
            payload = BundlePayload(
                str(entry.get("source_id") or ""), bytes.fromhex(sha256), data,
                entry.get("header_sha256"), receipts,
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise InputError(f"{where}: not a raw bundle payload ({exc!s})") from None
        if hashlib.sha256(data).hexdigest() != sha256 or (size is not None and size != len(data)):
            raise InputError(f"{where}: the payload's bytes do not match its sha256/size")
        yield payload


def bundle_payloads(lines: Iterable[Line]) -> Iterator[bytes]:
    """The checked bytes of each payload, in order."""
    for payload in bundle_documents(lines):
        yield payload.data


class BundleCSVInput:
    """CSV rows of a bundle (stored without their header) read again as the CSV they
    came from: the header's exact bytes, then each row, LF-terminated (the stored
    header and rows keep no line terminator, so the rows frame to the same bytes)."""

    size: int | None = None

    def __init__(self, name: str, source: DataSource, header: bytes, rows: Iterable[bytes]) -> None:
        self.name = name
        self.source = source
        self._header = header
        self._rows = rows
        self._csv: CSVFrames | None = None
        self.position = 0

    @property
    def header(self) -> tuple[bytes, bytes] | None:
        return self._csv.keyed_header if self._csv is not None else None

    def _lines(self) -> Iterator[bytes]:
        yield self._header + b"\n"
        for row in self._rows:
            self.position += len(row) + 1
            # a quoted field may hold line breaks: hand the reader real lines
            yield from io.BytesIO(row + b"\n")

    def frames(self) -> Iterator[Frame]:
        options = ReadOptions.of(self.source)
        self._csv = CSVFrames(self._lines(), options.required_columns, options.reading)
        yield from framed_csv(self._csv, self.name)


#: What the receipts need of a payload (its bytes are not kept): (source_id, sha256,
#: receipts).
Arrivals = tuple[str, bytes, tuple[BundleReceipt, ...]]


def arrivals_of(payload: BundlePayload) -> Arrivals:
    return payload.source_id, payload.sha256, payload.receipts


def restore_receipts(
    session: RawSession, source: str, runs: Iterable[str], payloads: Iterable[Arrivals]
) -> int:
    """Replace the receipts the import `runs` wrote with the bundle's own, in the order
    of their `received_at` over the whole bundle (the latest receipt of a source id
    names the payload that drives its record), leaving out receipts the store holds
    already (importing twice adds nothing). Returns the receipts written."""
    for run in runs:
        session.drop_run_receipts(run)
    held = session.source_receipts(source)
    todo: list[tuple[str, int, BundleReceipt, str, bytes]] = []
    for source_id, sha256, receipts in payloads:
        for receipt in receipts:
            by, at, origin, line = receipt[:4]
            if (source_id, sha256, by, at, line, origin) not in held:
                todo.append((at, len(todo), receipt, source_id, sha256))
    todo.sort(key=lambda t: (t[0], t[1]))
    group: list[ReceiptKey] = []
    shared: Receipt | None = None
    for at, _, receipt, source_id, sha256 in todo:
        mine = Receipt(receipt[0], receipt[4], receipt[5])
        if mine != shared and group and shared is not None:
            session.append_receipts(group, shared)
            group = []
        shared = mine
        group.append((source, source_id, sha256, at, receipt[3], receipt[2]))
    if group and shared is not None:
        session.append_receipts(group, shared)
    return len(todo)
