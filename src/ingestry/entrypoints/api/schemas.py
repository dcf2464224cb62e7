"""Request and response shapes of the HTTP API (Pydantic, at the boundary only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Out):
    code: str
    message: str
    request_id: str
    current_version: int | None = Field(
        default=None, description="On a version conflict (409): the record's current version."
    )


class ErrorOut(_Out):
    """An RFC 9457 problem; `error` keeps the fields of the body before it."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    error: ErrorDetail


class IngestSummaryOut(_Out):
    """The summary `ingestry ingest --json` prints, plus the run's srn."""

    source: str
    received: int
    raw_stored: int
    raw_duplicates: int
    records_created: int
    records_updated: int
    records_unchanged: int
    quarantined: int
    seconds: float
    run_srn: str
    duplicate_ids: int = 0


class ProvenanceOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    id: str


class DeletionOut(_Out):
    """Who deleted a record version, when and why (docs/deleting.md)."""

    version: int
    deleted_at: str
    by: str
    reason: str | None


class RecordOut(_Out):
    srn: str
    convention: str
    source: ProvenanceOut
    version: int
    published_at: str
    updated_at: str
    data_source: str | None
    extractor_version: str | None
    raw_sha256: str | None
    columns: dict[str, Any]
    metadata: dict[str, Any]
    deleted: DeletionOut | None = Field(
        default=None,
        description="Set on a tombstone version (a soft delete): who, when, why.",
    )


class DeleteOut(_Out):
    """`DELETE /v1/records/{srn}`: what `ingestry records delete --json` prints."""

    srn: str
    convention: str
    deleted: bool
    status: Literal["deleted", "already deleted"]
    already_deleted: bool
    version: int
    deleted_at: str
    by: str
    reason: str | None


class RecordCount(_Out):
    count: int


class RecordPage(_Out):
    items: list[RecordOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when there is none."
    )


class RecordHistory(_Out):
    srn: str
    versions: list[RecordOut]


class FeatureOut(_Out):
    """A value a hook produced for one version of the record."""

    name: str
    value: Any = None
    record_version: int
    hook: str
    produced_at: datetime


class FeatureList(_Out):
    srn: str
    features: list[FeatureOut]


class HookOutcomeOut(_Out):
    """One hook run `hooks rerun` made (also listed by `hooks runs`)."""

    hook: str
    version: int
    status: str
    exit_code: int | None = None
    reason: str | None = None
    features: int
    started_at: datetime
    duration_seconds: float


class HookRerunOut(_Out):
    srn: str
    runs: list[HookOutcomeOut]


class RecordPatch(_In):
    """Replace the record's metadata (the typed columns are derived from it)."""

    metadata: dict[str, Any]


class SourceOut(_Out):
    name: str
    strategy: str
    convention: str
    format: str
    rationale: str
    retention_days: int | None


class SourceList(_Out):
    sources: list[SourceOut]


class IngestJobIn(_In):
    kind: Literal["ingest"]
    source: str = Field(min_length=1)
    path: str = Field(
        min_length=1,
        max_length=1024,
        description="A file of the source's inbox, relative to `data/inbox/{source}/`.",
    )
    strict: bool = False


class ReplayJobIn(_In):
    kind: Literal["replay"]
    source: str = Field(min_length=1)
    entity: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    extractor_version: str | None = None
    dry_run: bool = False


class ExportJobIn(_In):
    """Records of a source or convention as jsonl/csv/parquet, filtered like
    `GET /v1/records`; or (`raw`) a source's raw bundle. Written under
    `data/processed/`; the job's result lists `files`."""

    kind: Literal["export"]
    source: str | None = Field(default=None, min_length=1)
    convention: str | None = Field(default=None, min_length=1)
    format: Literal["jsonl", "csv", "parquet"] = "jsonl"
    raw: bool = False
    where: list[str] = Field(default_factory=list)
    since: str | None = None
    until: str | None = None
    time_column: str | None = None
    #: each record's current version only (default: its earlier versions too)
    current_only: bool = False
    #: soft-deleted records too, their tombstones marked `deleted` (`import` deletes them)
    include_deleted: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> ExportJobIn:
        if (self.source is None) == (self.convention is None):
            raise ValueError("give exactly one of source or convention")
        if self.raw and self.source is None:
            raise ValueError("a raw export needs a source")
        return self


class ImportJobIn(_In):
    """`ingestry import` as a job (admin keys only: an export may hold records of any
    convention and source): a records export (a file, or a directory export wrote) or a
    raw bundle directory, under `data/processed/` (where export jobs write)."""

    kind: Literal["import"]
    path: str = Field(
        min_length=1,
        max_length=1024,
        description="A file or directory relative to `data/processed/`.",
    )
    as_import: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Publish with `import` provenance, this exporting node's id as "
        "`source_node` (records exports only).",
    )


class ForkJobIn(_In):
    """`ingestry fork` as a job (admin keys only). The remote node's API key is never
    sent or stored: `key_env` names the worker's environment variable holding it."""

    kind: Literal["fork"]
    url: str = Field(min_length=1, max_length=2048, pattern=r"^https?://")
    key_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")
    convention: str | None = Field(default=None, min_length=1)
    since: str | None = Field(default=None, max_length=64)


class HarvestJobIn(_In):
    """One run of an HTTP source (its `pull:` settings); the result is its summary."""

    kind: Literal["harvest"]
    source: str = Field(min_length=1)


class BackupJobIn(_In):
    """A backup of the whole store (admin keys only) into the backup directory
    (`backup.out`, default `data/backups/`), pruned to `backup.keep`."""

    kind: Literal["backup"]


class VerifyJobIn(_In):
    """Verify a backup of the backup directory (admin keys only): the job fails,
    listing each difference, unless it matches its manifest."""

    kind: Literal["verify"]
    path: str = Field(min_length=1, max_length=1024, description="Relative to the backups.")


class DeleteJobIn(_In):
    """Soft-delete the records of a convention matching a filter, as `records delete
    --convention C --where …` (docs/deleting.md): a tombstone version and a RecordDeleted
    event each; at least one filter. The result counts `deleted` and `already_deleted`."""

    kind: Literal["delete"]
    convention: str = Field(min_length=1)
    where: list[str] = Field(default_factory=list)
    since: str | None = None
    until: str | None = None
    time_column: str | None = None
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _a_filter(self) -> DeleteJobIn:
        if not (self.where or self.since or self.until):
            raise ValueError("a delete job needs a filter (where, since or until)")
        return self


JobIn = Annotated[
    IngestJobIn
    | ReplayJobIn
    | ExportJobIn
    | HarvestJobIn
    | BackupJobIn
    | VerifyJobIn
    | ForkJobIn
    | ImportJobIn
    | DeleteJobIn,
    Field(discriminator="kind"),
]


class JobOut(_Out):
    id: str
    kind: str
    params: dict[str, Any]
    status: Literal["queued", "running", "succeeded", "failed"]
    attempts: int
    max_attempts: int
    progress: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobResultOut(_Out):
    id: str
    status: Literal["succeeded", "failed"]
    result: dict[str, Any] | None
    error: str | None


class NodeOut(_Out):
    node_id: str
    #: the conventions the calling key may read (all for an admin key)
    conventions: list[str]


class ChangePageOut(_Out):
    node_id: str
    items: list[RecordOut]
    next_cursor: str
    has_more: bool


class HealthOut(_Out):
    status: Literal["ok"]
    database: Literal["reachable"]


class RunOut(_Out):
    srn: str
    kind: Literal["ingest", "replay", "harvest"]
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    origins: list[str]
    summary: dict[str, Any] | None


class RunList(_Out):
    items: list[RunOut]


class StatsBucketOut(_Out):
    bucket: datetime
    source: str
    received: int
    raw_stored: int
    raw_duplicates: int
    records_created: int
    records_updated: int
    records_unchanged: int
    quarantined: int
    runs: int
    seconds: float


class StatsList(_Out):
    items: list[StatsBucketOut]


class PageOut(_Out):
    """A kept response of a pulled source, without its bytes."""

    id: int
    run_srn: str
    seq: int
    url: str
    status: int
    etag: str | None
    size: int
    received_at: str
    error: str | None
    erased_at: str | None


class PageList(_Out):
    items: list[PageOut]
    #: the `after` of the next request; null when this was the last
    next_after: int | None
