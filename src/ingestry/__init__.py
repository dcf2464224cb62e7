"""ingestry: take data in from many sources and keep it safe, typed and traceable.

import ingestry
with ingestry.open("ingestry.yaml") as store:
    store.ingest("customer_orders", [{"id": "A-1", ...}])
"""

from ingestry.config import Settings, load_settings
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.errors import (
    ConfigError,
    ConflictError,
    ExtractionError,
    IngestryError,
    InputError,
    RecordNotFoundError,
    SchemaError,
    StrictModeError,
    UnknownSourceError,
)
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.provenance import (
    DepositionSource,
    ForkSource,
    HarvestSource,
    ImportSource,
    RecordSource,
)
from ingestry.domain.records import Record, record_srn
from ingestry.domain.sources import DataSource, StorageStrategy
from ingestry.extract.registry import extractor
from ingestry.services.ingest import IngestSummary
from ingestry.store import Store, open_store

open = open_store

__version__ = "0.1.0"

__all__ = [
    "ColumnSpec",
    "ColumnType",
    "ConfigError",
    "ConflictError",
    "Convention",
    "DataSource",
    "DepositionSource",
    "ExtractionError",
    "ForkSource",
    "HarvestSource",
    "ImportSource",
    "IngestSummary",
    "IngestryError",
    "InputError",
    "QuarantineEntry",
    "RawPayload",
    "Record",
    "RecordNotFoundError",
    "RecordSource",
    "SchemaError",
    "Settings",
    "StorageStrategy",
    "Store",
    "StrictModeError",
    "UnknownSourceError",
    "__version__",
    "extractor",
    "load_settings",
    "open",
    "record_srn",
]

# --- record lifecycle: publish, update, events, hooks, features ---------------------------
from ingestry.domain.errors import InvalidSourceError, UnknownConventionError  # noqa: E402
from ingestry.domain.events import (  # noqa: E402
    RECORD_PUBLISHED,
    RECORD_UPDATED,
    DeadEvent,
    DispatchSummary,
    EventSettings,
    RecordEvent,
)
from ingestry.domain.features import Feature, HookResult, HookRun  # noqa: E402
from ingestry.services.dispatch import EventDispatcher, EventHandler  # noqa: E402
from ingestry.services.publish import PublishSummary, RejectedItem  # noqa: E402

__all__ += [
    "RECORD_PUBLISHED",
    "RECORD_UPDATED",
    "DeadEvent",
    "DispatchSummary",
    "EventDispatcher",
    "EventHandler",
    "EventSettings",
    "Feature",
    "HookResult",
    "HookRun",
    "InvalidSourceError",
    "PublishSummary",
    "RecordEvent",
    "RejectedItem",
    "UnknownConventionError",
]

# --- inputs: errors of the second wave -------------------------------------------------------
from ingestry.domain.errors import InvalidCursorError  # noqa: E402

__all__ += ["InvalidCursorError"]
