"""`ingestry jobs submit|show`: background work from the terminal (the worker runs it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ingestry.domain.errors import QueryError
from ingestry.domain.jobs import JOB_KINDS, Job
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json

if TYPE_CHECKING:  # `--help` loads no store (tests/unit/test_startup.py)
    from ingestry.store import Store


@click.group("jobs")
def command() -> None:
    """Jobs run by `ingestry worker`: submit, show."""


@command.command("submit")
@click.argument("kind", type=click.Choice(JOB_KINDS))
@click.option("--source", default=None, help="Source (ingest, replay, export).")
@click.option(
    "--path",
    default=None,
    help="ingest: a file under the data root; import: a file or directory under "
    "data/processed/ (relative).",
)
@click.option("--convention", default=None, help="export: a whole convention; delete: C.")
@click.option("--where", multiple=True, metavar="FILTER", help="delete: as `records list`.")
@click.option("--since", default=None, help="delete: as `records list`.")
@click.option("--until", default=None, help="delete: as `records list`.")
@click.option("--reason", default=None, help="delete: why (kept with each tombstone).")
@click.option(
    "--idempotency-key", default=None, help="Submitting again with it gives the same job."
)
@click.pass_obj
def submit(
    ctx: CliContext,
    kind: str,
    source: str | None,
    path: str | None,
    convention: str | None,
    where: tuple[str, ...],
    since: str | None,
    until: str | None,
    reason: str | None,
    idempotency_key: str | None,
) -> None:
    """Queue a job and print it as JSON (poll with `jobs show ID`)."""
    store = ctx.store()
    params: dict[str, Any] = {}
    if source is not None:
        params["source"] = store.source(source).name
    if kind == "ingest":
        if source is None or path is None:
            raise click.UsageError("ingest needs --source and --path")
        store.data_file(path)
        params["path"] = path
    elif kind == "import":
        if path is None:
            raise click.UsageError("import needs --path (relative to data/processed/)")
        store.import_path(path)
        params["path"] = path
    elif kind == "replay" and source is None:
        raise click.UsageError("replay needs --source")
    elif kind == "export":
        if (source is None) == (convention is None):
            raise click.UsageError("export needs exactly one of --source or --convention")
        if convention is not None:
            params["convention"] = store.settings.convention(convention).name
    elif kind == "delete":
        params.update(delete_params(store, convention, where, since, until, reason))
    job, _ = store.jobs().submit(kind, params, idempotency_key=idempotency_key)
    echo_json(job_json(job))


@command.command("show")
@click.argument("job_id")
@click.pass_obj
def show(ctx: CliContext, job_id: str) -> None:
    """A job's status, attempts, progress, result or error, as JSON."""
    echo_json(job_json(ctx.store().jobs().get(job_id)))


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "params": dict(job.params),
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "progress": job.progress,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def delete_params(
    store: Store,
    convention: str | None,
    where: tuple[str, ...],
    since: str | None,
    until: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """A `delete` job's parameters (docs/deleting.md), the filter checked now."""
    if convention is None or not (where or since or until):
        raise click.UsageError("delete needs --convention and --where, --since or --until")
    try:
        next(iter(store.records(convention, limit=1, where=where, since=since, until=until)), None)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    found = {"where": list(where), "since": since, "until": until, "reason": reason}
    return {"convention": convention, **{k: v for k, v in found.items() if v}}
