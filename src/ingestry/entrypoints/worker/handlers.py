"""Job kinds → Store calls (thin: parameters in, one Store call, a summary out)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ingestry.domain.backups import BackupError
from ingestry.domain.errors import InputError
from ingestry.domain.harvest import HarvestBusyError
from ingestry.domain.jobs import Job
from ingestry.entrypoints.logs import job_id
from ingestry.entrypoints.metrics import Metrics
from ingestry.services.deletion import DeleteTally
from ingestry.services.worker import JobContext, JobHandler
from ingestry.store import Store


def job_handlers(store: Store, metrics: Metrics | None = None) -> dict[str, JobHandler]:
    def bind(fn: Callable[[Store, Job, JobContext], Mapping[str, Any]]) -> JobHandler:
        def run(job: Job, context: JobContext) -> Mapping[str, Any]:
            token = job_id.set(job.id)
            started = time.perf_counter()
            try:
                result = fn(store, job, context)
            finally:
                job_id.reset(token)
            if metrics is not None:
                observe(metrics, job, result, time.perf_counter() - started)
            return result

        return run

    return {
        "ingest": bind(ingest), "export": bind(export), "replay": bind(replay),
        "harvest": bind(harvest), "source_files": bind(source_files),
        "backup": bind(backup), "verify": bind(verify), "fork": bind(fork),
        "import": bind(import_export), "delete": bind(delete_matching),
    }  # fmt: skip


def harvest(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """One run of an HTTP source (API job or schedule). A run of the source already in
    progress (another worker, a CLI run) makes this one a no-op, not a failure."""

    def progress(pages: int, items: int, requests: int) -> None:
        context.progress(pages=pages, items=items, requests=requests)

    try:
        summary = store.harvest(
            str(job.params["source"]), progress=progress, check=context.check,
            owner=job.lease_owner,
        )  # fmt: skip
    except HarvestBusyError as exc:
        return {"skipped": str(exc)}
    return summary.as_dict()


def source_files(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """A scheduled ingest of the source's `files:` (never two runs of it at once)."""

    def progress(consumed: int, received: int) -> None:
        context.progress(bytes_read=consumed, received=received)

    try:
        summary = store.ingest_source_files(
            str(job.params["source"]), progress=progress, owner=job.lease_owner
        )
    except HarvestBusyError as exc:
        return {"skipped": str(exc)}
    return summary.as_dict()


def backup(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """A backup into the backup directory, pruned to `backup.keep` (an admin's job)."""
    due = job.params.get("due")  # a scheduled run names its due moment
    return store.scheduled_backup(datetime.fromisoformat(str(due)) if due else None).as_dict()


def verify(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """Verify a backup of the backup directory; fails listing each difference."""
    summary = store.verify_backup(store.backup_file(str(job.params["path"])))
    if not summary.ok:
        problems = "; ".join(summary.problems)
        raise BackupError(f"{summary.path}: does not match its manifest: {problems}")
    return summary.as_dict()


def delete_matching(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """Soft-delete the records matching the job's filter (docs/deleting.md). Each delete
    commits alone and the tally (with the last srn done) is the job's progress, so a
    worker taking the job over goes on after it; deleted records leave the selection, so
    running it again deletes nothing twice."""
    params = job.params
    tally = DeleteTally.resume(job.progress)
    reports = store.delete_matching(
        str(params["convention"]),
        where=[str(w) for w in params.get("where") or ()],
        since=params.get("since"),
        until=params.get("until"),
        time_column=params.get("time_column"),
        reason=params.get("reason"),
        actor=f"api:{job.owner}" if job.owner else f"job:{job.id}",
        after=tally.after,
    )
    for report in reports:
        tally.add(report)
        context.progress(**tally.as_dict())
    return {"convention": params["convention"], **tally.as_dict()}


def observe(metrics: Metrics, job: Job, result: Mapping[str, Any], seconds: float) -> None:
    """A finished job's counts and duration (ingests, scheduled file ingests, harvests,
    replays) and lease takeovers; a run skipped (its source busy) counts nothing."""
    if job.taken_over:
        metrics.inc("ingestry_job_lease_takeovers_total", {"kind": job.kind})
    if "skipped" in result:
        return
    if job.kind in ("ingest", "source_files"):
        metrics.count_ingest(result)
        metrics.observe("ingestry_ingest_seconds", {"source": str(result["source"])}, seconds)
    elif job.kind == "harvest":
        metrics.count_ingest(result)
        metrics.count_harvest(result)
        metrics.observe("ingestry_harvest_seconds", {"source": str(result["source"])}, seconds)
    elif job.kind == "replay":
        source = str(job.params.get("source"))
        metrics.observe("ingestry_replay_seconds", {"source": source}, seconds)


def ingest(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """Ingest a file of the source's inbox (an API key's job) or under the data root (an
    operator's); checked again here: the tree may have changed since the submit."""
    source, relative = str(job.params["source"]), str(job.params["path"])
    path = store.inbox_file(source, relative) if job.owner else store.data_file(relative)

    def progress(consumed: int, received: int) -> None:
        context.progress(bytes_read=consumed, received=received)

    summary = store.ingest_files(
        str(job.params["source"]),
        [path],
        strict=bool(job.params.get("strict", False)),
        progress=progress,
    )
    return summary.as_dict()


def export(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """Records as jsonl/csv/parquet (or a raw bundle) under `data/processed/`."""
    params = job.params
    source = params.get("source")
    convention = params.get("convention")

    def progress(written: int) -> None:
        context.progress(records=written)

    if params.get("raw"):
        return store.export_raw(str(source), progress=progress).as_dict()
    summary = store.export(
        str(source) if source else None,
        convention=str(convention) if convention else None,
        format=str(params.get("format") or "jsonl"),
        where=[str(w) for w in params.get("where") or ()],
        since=params.get("since"),
        until=params.get("until"),
        time_column=params.get("time_column"),
        progress=progress,
        current_only=bool(params.get("current_only")),
        include_deleted=bool(params.get("include_deleted")),
    )
    return summary.as_dict()


def replay(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """Re-extract a raw source's window (the raw-store operations' replay)."""
    params = job.params

    def moment(key: str) -> datetime | None:
        value = params.get(key)
        if not value:
            return None
        parsed = datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

    def progress(scanned: int, total: int) -> None:
        context.progress(scanned=scanned, total=total)

    summary = store.replay(
        str(params["source"]),
        entity=params.get("entity"),
        since=moment("since"),
        until=moment("until"),
        extractor_version=params.get("extractor_version"),
        dry_run=bool(params.get("dry_run", False)),
        progress=progress,
    )
    return summary.as_dict()


def fork(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """`ingestry fork`: the remote key comes from the worker's environment (`key_env`),
    never from the job's stored parameters."""
    params = job.params
    name = str(params["key_env"])
    key = os.environ.get(name)
    if not key:
        raise InputError(
            f"fork job: the worker's environment has no {name} (the remote node's API key): "
            "set it where the worker runs"
        )

    def progress(received: int) -> None:
        context.progress(records=received)

    convention, since = params.get("convention"), params.get("since")
    summary = store.fork(
        str(params["url"]),
        key,
        convention=str(convention) if convention else None,
        since=str(since) if since else None,
        progress=progress,
    )
    return summary.as_dict()


def import_export(store: Store, job: Job, context: JobContext) -> Mapping[str, Any]:
    """`ingestry import` of a path under `data/processed/`, checked again here (the
    tree may have changed since the submit)."""
    path = store.import_path(str(job.params["path"]))
    as_import = job.params.get("as_import")
    summary = store.import_export(str(path), as_import=str(as_import) if as_import else None)
    return summary.as_dict()
