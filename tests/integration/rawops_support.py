"""Helpers for the raw-store operation tests: a small order config, ingest at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ingestry
from ingestry.services.ingest import IngestService, IngestSummary
from ingestry.services.payloads import PayloadInput
from ingestry.store import Store
from tests.backends import Database

#: `qty` starts out declared as an integer (wrong: some payloads carry "2.5"); the
#: fixed config adds a `note` column and makes `qty` a decimal.
BEFORE = """\
database: {database}
conventions:
  order:
    columns:
      number:     {{path: number, type: text}}
      created_at: {{path: created_at, type: timestamp, required: true}}
      qty:        {{path: qty, type: integer}}
sources:
  orders:
    strategy: raw
    convention: order
    rationale: Customer uploads, cannot re-fetch  # why raw
    retention_days: 90
    format: jsonl
    id: id
  orders_csv:
    strategy: raw
    convention: order
    rationale: Partner CSV uploads
    format: csv
    id: id
  listings:
    strategy: simple     # re-fetchable
    convention: order
    rationale: Our own listings, re-fetchable
    format: jsonl
    id: id
  listings_csv:
    strategy: simple
    convention: order
    rationale: Our own listings export, re-fetchable
    format: csv
    id: id
"""
AFTER = BEFORE.replace(
    "      qty:        {{path: qty, type: integer}}",
    "      qty:        {{path: qty, type: decimal}}\n      note:       {{path: note, type: text}}",
)


def write_config(root: Path, db: Database, template: str = BEFORE) -> Path:
    url = db.url if db.kind == "postgres" else "sqlite:///data/ingestry.db"
    path = root / "ingestry.yaml"
    path.write_text(template.format(database=url), encoding="utf-8")
    return path


def open_store(path: Path) -> Store:
    return ingestry.open(path)


def ingest_at(
    store: Store, source: str, payloads: Iterable[Any], moment: datetime
) -> IngestSummary:
    """Ingest as if received at `moment` (the service's clock is the only thing faked)."""
    data_source = store.source(source)
    extractor = store.extractor(data_source)
    service = IngestService(store.storage, lambda _: extractor, clock=lambda: moment)
    return service.ingest(data_source, [PayloadInput(payloads)])


def at(day: int, month: int = 11, year: int = 2026, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
