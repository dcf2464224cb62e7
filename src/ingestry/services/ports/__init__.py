"""Ports: the interfaces services need from the outside, and the values crossing them.
Adapters implement them and import only them (the `ports` import contract).

One module per port family, every name re-exported here, so `from
ingestry.services.ports import X` works for any of them:

- `rows`: the hot-path rows (raw, quarantine, record, hook run, feature) and what a
  write answers (`RecordChange`, `UpsertResult`);
- `session` / `storage`: `StorageSession` (one transaction) and `Storage`;
- `capabilities`: what a storage may do for speed (`WireEncoding`,
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
"""

from __future__ import annotations

from ingestry.services.ports.analytics import (
    CopyState as CopyState,
)
from ingestry.services.ports.analytics import (
    CopyStore as CopyStore,
)
from ingestry.services.ports.analytics import (
    Pages as Pages,
)
from ingestry.services.ports.analytics import (
    QueryResult as QueryResult,
)
from ingestry.services.ports.analytics import (
    SqlEngine as SqlEngine,
)
from ingestry.services.ports.analytics import (
    View as View,
)
from ingestry.services.ports.analytics import (
    ViewColumn as ViewColumn,
)
from ingestry.services.ports.backups import (
    BackupEngine as BackupEngine,
)
from ingestry.services.ports.backups import (
    BackupFiles as BackupFiles,
)
from ingestry.services.ports.backups import (
    Snapshot as Snapshot,
)
from ingestry.services.ports.batches import (
    BatchWork as BatchWork,
)
from ingestry.services.ports.batches import (
    LazyRows as LazyRows,
)
from ingestry.services.ports.batches import (
    PreparedBatch as PreparedBatch,
)
from ingestry.services.ports.browse import (
    Browse as Browse,
)
from ingestry.services.ports.browse import (
    QuarantineFilter as QuarantineFilter,
)
from ingestry.services.ports.browse import (
    QueueState as QueueState,
)
from ingestry.services.ports.browse import (
    ReasonCount as ReasonCount,
)
from ingestry.services.ports.browse import (
    RecordEvent as RecordEvent,
)
from ingestry.services.ports.browse import (
    jobs_cursor as jobs_cursor,
)
from ingestry.services.ports.cache import (
    CacheStats as CacheStats,
)
from ingestry.services.ports.cache import (
    RecordCache as RecordCache,
)
from ingestry.services.ports.capabilities import (
    Arrivals as Arrivals,
)
from ingestry.services.ports.capabilities import (
    ConcurrentSessions as ConcurrentSessions,
)
from ingestry.services.ports.capabilities import (
    PayloadProbe as PayloadProbe,
)
from ingestry.services.ports.capabilities import (
    WireEncoding as WireEncoding,
)
from ingestry.services.ports.changes import (
    Change as Change,
)
from ingestry.services.ports.changes import (
    ChangeCursor as ChangeCursor,
)
from ingestry.services.ports.changes import (
    ChangeFeed as ChangeFeed,
)
from ingestry.services.ports.changes import (
    RemoteInfo as RemoteInfo,
)
from ingestry.services.ports.changes import (
    RemoteNode as RemoteNode,
)
from ingestry.services.ports.changes import (
    RemotePage as RemotePage,
)
from ingestry.services.ports.control import (
    ApiKeyStore as ApiKeyStore,
)
from ingestry.services.ports.control import (
    Bucket as Bucket,
)
from ingestry.services.ports.control import (
    CronTimes as CronTimes,
)
from ingestry.services.ports.control import (
    IdempotencyStore as IdempotencyStore,
)
from ingestry.services.ports.control import (
    JobQueue as JobQueue,
)
from ingestry.services.ports.control import (
    MessageStream as MessageStream,
)
from ingestry.services.ports.control import (
    NewJob as NewJob,
)
from ingestry.services.ports.control import (
    RateLimiter as RateLimiter,
)
from ingestry.services.ports.control import (
    StoredRequest as StoredRequest,
)
from ingestry.services.ports.control import (
    StreamMessage as StreamMessage,
)
from ingestry.services.ports.control import (
    take as take,
)
from ingestry.services.ports.erasure import (
    DeletionStorage as DeletionStorage,
)
from ingestry.services.ports.erasure import (
    ErasureStorage as ErasureStorage,
)
from ingestry.services.ports.exports import (
    ColumnSink as ColumnSink,
)
from ingestry.services.ports.exports import (
    ExportColumn as ExportColumn,
)
from ingestry.services.ports.exports import (
    FileSink as FileSink,
)
from ingestry.services.ports.exports import (
    OpenColumns as OpenColumns,
)
from ingestry.services.ports.exports import (
    OpenFile as OpenFile,
)
from ingestry.services.ports.harvest import (
    FetchFailedError as FetchFailedError,
)
from ingestry.services.ports.harvest import (
    HarvestLedger as HarvestLedger,
)
from ingestry.services.ports.harvest import (
    HttpFetcher as HttpFetcher,
)
from ingestry.services.ports.harvest import (
    HttpRequest as HttpRequest,
)
from ingestry.services.ports.harvest import (
    HttpResponse as HttpResponse,
)
from ingestry.services.ports.harvest import (
    Pairs as Pairs,
)
from ingestry.services.ports.harvest import (
    RunLocks as RunLocks,
)
from ingestry.services.ports.harvest import (
    StoredPage as StoredPage,
)
from ingestry.services.ports.hooks import (
    HookRunner as HookRunner,
)
from ingestry.services.ports.hooks import (
    HookRunnerFactory as HookRunnerFactory,
)
from ingestry.services.ports.hooks import (
    RunnerContext as RunnerContext,
)
from ingestry.services.ports.hooks import (
    WorkSpace as WorkSpace,
)
from ingestry.services.ports.inputs import (
    BlockInput as BlockInput,
)
from ingestry.services.ports.inputs import (
    Chunks as Chunks,
)
from ingestry.services.ports.inputs import (
    ContainedInput as ContainedInput,
)
from ingestry.services.ports.inputs import (
    DescribedInput as DescribedInput,
)
from ingestry.services.ports.inputs import (
    Input as Input,
)
from ingestry.services.ports.inputs import (
    ReadOptions as ReadOptions,
)
from ingestry.services.ports.inputs import (
    Spilled as Spilled,
)
from ingestry.services.ports.inputs import (
    SpillingInput as SpillingInput,
)
from ingestry.services.ports.inputs import (
    UnframeableError as UnframeableError,
)
from ingestry.services.ports.inputs import (
    WholeDocument as WholeDocument,
)
from ingestry.services.ports.lifecycle import (
    ClaimedEvent as ClaimedEvent,
)
from ingestry.services.ports.lifecycle import (
    LifecycleSession as LifecycleSession,
)
from ingestry.services.ports.lifecycle import (
    LifecycleStorage as LifecycleStorage,
)
from ingestry.services.ports.rawops import (
    ExistingRecord as ExistingRecord,
)
from ingestry.services.ports.rawops import (
    PurgeResult as PurgeResult,
)
from ingestry.services.ports.rawops import (
    QuarantineItem as QuarantineItem,
)
from ingestry.services.ports.rawops import (
    RawMark as RawMark,
)
from ingestry.services.ports.rawops import (
    RawOperations as RawOperations,
)
from ingestry.services.ports.rawops import (
    RawSession as RawSession,
)
from ingestry.services.ports.rawops import (
    RawWindow as RawWindow,
)
from ingestry.services.ports.rawops import (
    RetentionPolicy as RetentionPolicy,
)
from ingestry.services.ports.rawops import (
    StoredRaw as StoredRaw,
)
from ingestry.services.ports.rawops import (
    StoredReceipt as StoredReceipt,
)
from ingestry.services.ports.rows import (
    HOOK_RUN_FIELDS as HOOK_RUN_FIELDS,
)
from ingestry.services.ports.rows import (
    QUARANTINE_FIELDS as QUARANTINE_FIELDS,
)
from ingestry.services.ports.rows import (
    RAW_FIELDS as RAW_FIELDS,
)
from ingestry.services.ports.rows import (
    RECORD_FIELDS as RECORD_FIELDS,
)
from ingestry.services.ports.rows import (
    FeatureRow as FeatureRow,
)
from ingestry.services.ports.rows import (
    HookRunRow as HookRunRow,
)
from ingestry.services.ports.rows import (
    NewRecords as NewRecords,
)
from ingestry.services.ports.rows import (
    QuarantineRow as QuarantineRow,
)
from ingestry.services.ports.rows import (
    RawRow as RawRow,
)
from ingestry.services.ports.rows import (
    Receipt as Receipt,
)
from ingestry.services.ports.rows import (
    ReceiptKey as ReceiptKey,
)
from ingestry.services.ports.rows import (
    RecordChange as RecordChange,
)
from ingestry.services.ports.rows import (
    RecordRow as RecordRow,
)
from ingestry.services.ports.rows import (
    RowTimes as RowTimes,
)
from ingestry.services.ports.rows import (
    UpsertResult as UpsertResult,
)
from ingestry.services.ports.rows import (
    Wire as Wire,
)
from ingestry.services.ports.rows import (
    WireEncode as WireEncode,
)
from ingestry.services.ports.session import (
    OnChanges as OnChanges,
)
from ingestry.services.ports.session import (
    StorageSession as StorageSession,
)
from ingestry.services.ports.storage import (
    SCAN_ENVELOPE as SCAN_ENVELOPE,
)
from ingestry.services.ports.storage import (
    SCAN_PAGE as SCAN_PAGE,
)
from ingestry.services.ports.storage import (
    Storage as Storage,
)
