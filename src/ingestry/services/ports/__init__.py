"""Ports: the interfaces services need from the outside, and the values crossing them.
Adapters implement them and import only them (the `ports` import contract).

One module per port family, every name re-exported here, so `from
ingestry.services.ports import X` works for any of them:

- `rows`: the hot-path rows (raw, quarantine, record, hook run, feature) and what a
  write answers (`RecordChange`, `UpsertResult`);
- `session` / `storage`: `StorageSession` (one transaction) and `Storage`;
- `capabilities`: what a storage may do for speed (`WireEncoding`, `OffloadEncoding`,
  `ConcurrentSessions`, `PayloadProbe`);
- `rawops`: `RawOperations` / `RawSession` (replay, quarantine, retention);
- `lifecycle`: the outbox, conditional updates, hook runs and features;
- `hooks`: `HookRunner`, `HookRunnerFactory`, `RunnerContext`, `WorkSpace`;
- `inputs`: how adapters read a source's data (`ReadOptions`, spills);
- `batches`: a batch between its preparation and its write (`PreparedBatch`,
  `LazyRows`, `BatchWork`);
- `control`: jobs, API keys, idempotency keys, rate limits, message streams;
- `exports`: export files (`OpenFile`, `OpenColumns`, `ExportColumn`).
- `harvest`: HTTP pulls (`HttpFetcher`, `HarvestLedger`, `RunLocks`, `StoredPage`).
- `browse`: the dashboard's paged reads (quarantine, jobs, a record's events).
- `changes`: the changes feed a forking node reads (`ChangeFeed`, `Change`).
- `analytics`: the SQL engine `ingestry query` runs on (`SqlEngine`, `View`).
- `backups`: a backend's `BackupEngine`, the backups' `BackupFiles`, a `Snapshot`.

The names are imported on first use (PEP 562; mypy sees the real imports): an adapter
or service that needs the storage ports does not load the dashboard's, the harvest's
or the backups' (docs/architecture.md, start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

#: Submodule -> the names it defines that are re-exported here (imported on first use).
_MODULES: dict[str, tuple[str, ...]] = {
    "analytics": (
        "CopyState",
        "CopyStore",
        "Pages",
        "QueryResult",
        "SqlEngine",
        "View",
        "ViewColumn",
    ),
    "backups": ("BackupEngine", "BackupFiles", "Snapshot"),
    "batches": ("BatchWork", "LazyRows", "PreparedBatch"),
    "browse": (
        "Browse",
        "QuarantineFilter",
        "QueueState",
        "ReasonCount",
        "RecordEvent",
        "jobs_cursor",
    ),
    "cache": ("CacheStats", "RecordCache"),
    "capabilities": (
        "Arrivals",
        "ConcurrentSessions",
        "OffloadEncoding",
        "PayloadProbe",
        "WireEncoding",
    ),
    "changes": ("Change", "ChangeCursor", "ChangeFeed", "RemoteInfo", "RemoteNode", "RemotePage"),
    "control": (
        "ApiKeyStore",
        "Bucket",
        "CronTimes",
        "IdempotencyStore",
        "JobQueue",
        "MessageStream",
        "NewJob",
        "RateLimiter",
        "StoredRequest",
        "StreamMessage",
        "take",
    ),
    "erasure": ("DeletionStorage", "ErasureStorage"),
    "exports": ("ColumnSink", "ExportColumn", "FileSink", "OpenColumns", "OpenFile"),
    "harvest": (
        "FetchFailedError",
        "HarvestLedger",
        "HttpFetcher",
        "HttpRequest",
        "HttpResponse",
        "PageInfo",
        "Pairs",
        "RunLocks",
        "StoredPage",
    ),
    "hooks": ("HookRunner", "HookRunnerFactory", "RunnerContext", "WorkSpace"),
    "inputs": (
        "BlockInput",
        "Chunks",
        "ContainedInput",
        "DescribedInput",
        "Input",
        "ReadOptions",
        "Spilled",
        "SpillingInput",
        "UnframeableError",
        "WholeDocument",
    ),
    "lifecycle": ("ClaimedEvent", "LifecycleSession", "LifecycleStorage"),
    "rawops": (
        "ExistingRecord",
        "PurgeResult",
        "QuarantineItem",
        "RawMark",
        "RawOperations",
        "RawSession",
        "RawWindow",
        "RetentionPolicy",
        "StoredRaw",
        "StoredReceipt",
    ),
    "rows": (
        "FeatureRow",
        "HOOK_RUN_FIELDS",
        "HookRunRow",
        "NewRecords",
        "QUARANTINE_FIELDS",
        "QuarantineRow",
        "RAW_FIELDS",
        "RECORD_FIELDS",
        "RawRow",
        "Receipt",
        "ReceiptKey",
        "RecordChange",
        "RecordRow",
        "RowTimes",
        "UpsertResult",
        "Wire",
        "WireEncode",
    ),
    "session": ("OnChanges", "StorageSession"),
    "storage": ("SCAN_ENVELOPE", "SCAN_PAGE", "Storage"),
}
_EXPORTS = {name: f"{__name__}.{module}" for module, names in _MODULES.items() for name in names}

if TYPE_CHECKING:
    # one statement per module; `X as X` marks a re-export for mypy
    # isort: off
    from ingestry.services.ports.analytics import (
        CopyState as CopyState,
        CopyStore as CopyStore,
        Pages as Pages,
        QueryResult as QueryResult,
        SqlEngine as SqlEngine,
        View as View,
        ViewColumn as ViewColumn,
    )
    from ingestry.services.ports.backups import (
        BackupEngine as BackupEngine,
        BackupFiles as BackupFiles,
        Snapshot as Snapshot,
    )
    from ingestry.services.ports.batches import (
        BatchWork as BatchWork,
        LazyRows as LazyRows,
        PreparedBatch as PreparedBatch,
    )
    from ingestry.services.ports.browse import (
        Browse as Browse,
        QuarantineFilter as QuarantineFilter,
        QueueState as QueueState,
        ReasonCount as ReasonCount,
        RecordEvent as RecordEvent,
        jobs_cursor as jobs_cursor,
    )
    from ingestry.services.ports.cache import (
        CacheStats as CacheStats,
        RecordCache as RecordCache,
    )
    from ingestry.services.ports.capabilities import (
        Arrivals as Arrivals,
        ConcurrentSessions as ConcurrentSessions,
        OffloadEncoding as OffloadEncoding,
        PayloadProbe as PayloadProbe,
        WireEncoding as WireEncoding,
    )
    from ingestry.services.ports.changes import (
        Change as Change,
        ChangeCursor as ChangeCursor,
        ChangeFeed as ChangeFeed,
        RemoteInfo as RemoteInfo,
        RemoteNode as RemoteNode,
        RemotePage as RemotePage,
    )
    from ingestry.services.ports.control import (
        ApiKeyStore as ApiKeyStore,
        Bucket as Bucket,
        CronTimes as CronTimes,
        IdempotencyStore as IdempotencyStore,
        JobQueue as JobQueue,
        MessageStream as MessageStream,
        NewJob as NewJob,
        RateLimiter as RateLimiter,
        StoredRequest as StoredRequest,
        StreamMessage as StreamMessage,
        take as take,
    )
    from ingestry.services.ports.erasure import (
        DeletionStorage as DeletionStorage,
        ErasureStorage as ErasureStorage,
    )
    from ingestry.services.ports.exports import (
        ColumnSink as ColumnSink,
        ExportColumn as ExportColumn,
        FileSink as FileSink,
        OpenColumns as OpenColumns,
        OpenFile as OpenFile,
    )
    from ingestry.services.ports.harvest import (
        FetchFailedError as FetchFailedError,
        HarvestLedger as HarvestLedger,
        HttpFetcher as HttpFetcher,
        HttpRequest as HttpRequest,
        HttpResponse as HttpResponse,
        PageInfo as PageInfo,
        Pairs as Pairs,
        RunLocks as RunLocks,
        StoredPage as StoredPage,
    )
    from ingestry.services.ports.hooks import (
        HookRunner as HookRunner,
        HookRunnerFactory as HookRunnerFactory,
        RunnerContext as RunnerContext,
        WorkSpace as WorkSpace,
    )
    from ingestry.services.ports.inputs import (
        BlockInput as BlockInput,
        Chunks as Chunks,
        ContainedInput as ContainedInput,
        DescribedInput as DescribedInput,
        Input as Input,
        ReadOptions as ReadOptions,
        Spilled as Spilled,
        SpillingInput as SpillingInput,
        UnframeableError as UnframeableError,
        WholeDocument as WholeDocument,
    )
    from ingestry.services.ports.lifecycle import (
        ClaimedEvent as ClaimedEvent,
        LifecycleSession as LifecycleSession,
        LifecycleStorage as LifecycleStorage,
    )
    from ingestry.services.ports.rawops import (
        ExistingRecord as ExistingRecord,
        PurgeResult as PurgeResult,
        QuarantineItem as QuarantineItem,
        RawMark as RawMark,
        RawOperations as RawOperations,
        RawSession as RawSession,
        RawWindow as RawWindow,
        RetentionPolicy as RetentionPolicy,
        StoredRaw as StoredRaw,
        StoredReceipt as StoredReceipt,
    )
    from ingestry.services.ports.rows import (
        FeatureRow as FeatureRow,
        HOOK_RUN_FIELDS as HOOK_RUN_FIELDS,
        HookRunRow as HookRunRow,
        NewRecords as NewRecords,
        QUARANTINE_FIELDS as QUARANTINE_FIELDS,
        QuarantineRow as QuarantineRow,
        RAW_FIELDS as RAW_FIELDS,
        RECORD_FIELDS as RECORD_FIELDS,
        RawRow as RawRow,
        Receipt as Receipt,
        ReceiptKey as ReceiptKey,
        RecordChange as RecordChange,
        RecordRow as RecordRow,
        RowTimes as RowTimes,
        UpsertResult as UpsertResult,
        Wire as Wire,
        WireEncode as WireEncode,
    )
    from ingestry.services.ports.session import (
        OnChanges as OnChanges,
        StorageSession as StorageSession,
    )
    from ingestry.services.ports.storage import (
        SCAN_ENVELOPE as SCAN_ENVELOPE,
        SCAN_PAGE as SCAN_PAGE,
        Storage as Storage,
    )
    # isort: on
else:
    from ingestry.services.lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
