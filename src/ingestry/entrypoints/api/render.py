"""Core values → response models."""

from __future__ import annotations

from ingestry.domain.jobs import Job
from ingestry.domain.records import Record
from ingestry.entrypoints.api.schemas import JobOut, RecordOut
from ingestry.services.export import record_document


def record_out(record: Record) -> RecordOut:
    return RecordOut.model_validate(record_document(record))


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        params=dict(job.params),
        status=job.status,  # type: ignore[arg-type]
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        progress=dict(job.progress) if job.progress is not None else None,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
