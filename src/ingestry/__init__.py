"""ingestry: take data in from many sources and keep it safe, typed and traceable.

import ingestry
with ingestry.open("ingestry.yaml") as store:
    store.ingest("customer_orders", [{"id": "A-1", ...}])

The names below are imported on first use (PEP 562), not with the package: every
command imports `ingestry`, and `ingestry --help` must not pay for the config parser,
the store and their libraries (see docs/architecture.md, start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name → the module that defines it (`module:attribute` when renamed).
_EXPORTS: dict[str, str] = {
    "Settings": "ingestry.config",
    "load_settings": "ingestry.config",
    "ColumnSpec": "ingestry.domain.conventions",
    "ColumnType": "ingestry.domain.conventions",
    "Convention": "ingestry.domain.conventions",
    "ConfigError": "ingestry.domain.errors",
    "ConflictError": "ingestry.domain.errors",
    "ErasureBlockedError": "ingestry.domain.errors",
    "ExtractionError": "ingestry.domain.errors",
    "IngestryError": "ingestry.domain.errors",
    "InputError": "ingestry.domain.errors",
    "InvalidCursorError": "ingestry.domain.errors",
    "InvalidSourceError": "ingestry.domain.errors",
    "RecordNotFoundError": "ingestry.domain.errors",
    "SchemaError": "ingestry.domain.errors",
    "StatementTimeoutError": "ingestry.domain.errors",
    "StrictModeError": "ingestry.domain.errors",
    "UnknownConventionError": "ingestry.domain.errors",
    "UnknownSourceError": "ingestry.domain.errors",
    "RECORD_PUBLISHED": "ingestry.domain.events",
    "RECORD_UPDATED": "ingestry.domain.events",
    "DeadEvent": "ingestry.domain.events",
    "DispatchSummary": "ingestry.domain.events",
    "EventSettings": "ingestry.domain.events",
    "RecordEvent": "ingestry.domain.events",
    "Feature": "ingestry.domain.features",
    "HookResult": "ingestry.domain.features",
    "HookRun": "ingestry.domain.features",
    "QuarantineEntry": "ingestry.domain.payloads",
    "RawPayload": "ingestry.domain.payloads",
    "DepositionSource": "ingestry.domain.provenance",
    "ForkSource": "ingestry.domain.provenance",
    "HarvestSource": "ingestry.domain.provenance",
    "ImportSource": "ingestry.domain.provenance",
    "RecordSource": "ingestry.domain.provenance",
    "Record": "ingestry.domain.records",
    "record_srn": "ingestry.domain.records",
    "srn_of": "ingestry.domain.records",
    "DataSource": "ingestry.domain.sources",
    "StorageStrategy": "ingestry.domain.sources",
    "extractor": "ingestry.extract.registry",
    "EventDispatcher": "ingestry.services.dispatch",
    "EventHandler": "ingestry.services.dispatch",
    "IngestSummary": "ingestry.services.ingest",
    "PublishSummary": "ingestry.services.publish",
    "RejectedItem": "ingestry.services.publish",
    "Store": "ingestry.store",
    "open_store": "ingestry.store",
    "open": "ingestry.store:open_store",
}

__all__ = [
    "RECORD_PUBLISHED",
    "RECORD_UPDATED",
    "ColumnSpec",
    "ColumnType",
    "ConfigError",
    "ConflictError",
    "Convention",
    "DataSource",
    "DeadEvent",
    "DepositionSource",
    "DispatchSummary",
    "ErasureBlockedError",
    "EventDispatcher",
    "EventHandler",
    "EventSettings",
    "ExtractionError",
    "Feature",
    "ForkSource",
    "HarvestSource",
    "HookResult",
    "HookRun",
    "ImportSource",
    "IngestSummary",
    "IngestryError",
    "InputError",
    "InvalidCursorError",
    "InvalidSourceError",
    "PublishSummary",
    "QuarantineEntry",
    "RawPayload",
    "Record",
    "RecordEvent",
    "RecordNotFoundError",
    "RecordSource",
    "RejectedItem",
    "SchemaError",
    "Settings",
    "StatementTimeoutError",
    "StorageStrategy",
    "Store",
    "StrictModeError",
    "UnknownConventionError",
    "UnknownSourceError",
    "__version__",
    "extractor",
    "load_settings",
    "open",
    "open_store",
    "record_srn",
    "srn_of",
]

if TYPE_CHECKING:
    from ingestry.config import Settings, load_settings
    from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
    from ingestry.domain.errors import (
        ConfigError,
        ConflictError,
        ErasureBlockedError,
        ExtractionError,
        IngestryError,
        InputError,
        InvalidCursorError,
        InvalidSourceError,
        RecordNotFoundError,
        SchemaError,
        StatementTimeoutError,
        StrictModeError,
        UnknownConventionError,
        UnknownSourceError,
    )
    from ingestry.domain.events import (
        RECORD_PUBLISHED,
        RECORD_UPDATED,
        DeadEvent,
        DispatchSummary,
        EventSettings,
        RecordEvent,
    )
    from ingestry.domain.features import Feature, HookResult, HookRun
    from ingestry.domain.payloads import QuarantineEntry, RawPayload
    from ingestry.domain.provenance import (
        DepositionSource,
        ForkSource,
        HarvestSource,
        ImportSource,
        RecordSource,
    )
    from ingestry.domain.records import Record, record_srn, srn_of
    from ingestry.domain.sources import DataSource, StorageStrategy
    from ingestry.extract.registry import extractor
    from ingestry.services.dispatch import EventDispatcher, EventHandler
    from ingestry.services.ingest import IngestSummary
    from ingestry.services.publish import PublishSummary, RejectedItem
    from ingestry.store import Store, open_store
    from ingestry.store import open_store as open
else:

    def __getattr__(name: str) -> Any:
        """Import a public name on first use, then keep it as a plain attribute."""
        target = _EXPORTS.get(name)
        if target is None:
            raise AttributeError(f"module 'ingestry' has no attribute {name!r}")
        module, _, attribute = target.partition(":")
        value = getattr(importlib.import_module(module), attribute or name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_EXPORTS})
