"""`Store`: the Python API, and the one core every entry point calls.

A thin facade: each method hands over to a service (`services/`) or a port, in a line
or two; what needs building is built by the composition root (`bootstrap.py`). It is
cut by area so it stays small as capabilities are added: `core.py` (settings, storage,
sources, schema, closing), `ingest.py`, `records.py`, `raw.py`, `events.py`,
`control.py`, `export.py`, `analytics.py`, `federation.py`. A new capability adds its
area module and one base here.
"""

from __future__ import annotations

import os
from pathlib import Path

from ingestry.bootstrap import build_storage
from ingestry.config import Settings, load_settings
from ingestry.store.analytics import AnalyticsArea
from ingestry.store.backups import BackupArea
from ingestry.store.control import ControlArea
from ingestry.store.events import EventArea
from ingestry.store.export import ExportArea
from ingestry.store.federation import FederationArea
from ingestry.store.harvest import HarvestArea
from ingestry.store.raw import RawArea
from ingestry.store.records import RecordArea

__all__ = ["Store", "open_store"]


class Store(
    HarvestArea,
    AnalyticsArea,
    FederationArea,
    RecordArea,
    RawArea,
    BackupArea,
    ControlArea,
    EventArea,
    ExportArea,
):
    """An open ingestry store: sources from the config, records in its database."""


def open_store(
    config: Settings | str | os.PathLike[str] | None = None,
    *,
    auto_upgrade: bool = True,
    prepare: bool = True,
) -> Store:
    """Open a store from settings or a config path (default: INGESTRY_CONFIG or ./ingestry.yaml)."""
    settings = (
        config
        if isinstance(config, Settings)
        else load_settings(Path(config) if config is not None else None)
    )
    return Store(
        settings, lambda: build_storage(settings, auto_upgrade=auto_upgrade, prepare=prepare)
    )
