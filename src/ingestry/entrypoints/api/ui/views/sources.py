"""One source's page: its config, runs, plot, raw holds and retention, and the replay
and retention buttons."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from ingestry.entrypoints.api.ui.auth import UiCaller
from ingestry.entrypoints.api.ui.plots import legend_html, plot_every, plot_since, volume_plot
from ingestry.entrypoints.api.ui.present import pretty_json
from ingestry.entrypoints.api.ui.routing import CallerDep, page, state_of, ui_router
from ingestry.services.replay import NotRawSourceError

router = ui_router()


def _source_page(
    request: Request, ui: UiCaller, name: str, every: str | None, **extra: Any
) -> HTMLResponse:
    state = state_of(request)
    source = ui.caller.source(name)
    chosen = plot_every(every)
    convention = state.settings.convention(source.convention)
    with state.pool.borrow() as store:
        runs = store.runs(source.name, None, 20)
        buckets = store.stats_over_time(chosen, [source.name], plot_since(chosen).isoformat())
        holds = store.raw_holds(source.name) if source.is_raw else []
        kept = source.is_raw or source.pull is not None  # raw rows, or pages
        audit = store.retention_audit(source.name, limit=10) if kept else []
    config = dataclasses.asdict(source)
    return page(
        request,
        "source.html",
        ui,
        source=source,
        config=pretty_json(config),
        columns=pretty_json({c.name: dataclasses.asdict(c) for c in convention.columns}),
        runs=runs,
        plot=volume_plot(f"ingest volume of {source.name} per {chosen}", buckets, chosen),
        legend=legend_html(),
        every=chosen,
        holds=holds,
        audit=audit,
        **extra,
    )


@router.get("/sources/{name}", response_class=HTMLResponse)
def source_page(
    request: Request, name: str, ui: CallerDep, every: str | None = None
) -> HTMLResponse:
    return _source_page(request, ui, name, every)


@router.post("/sources/{name}/replay", response_class=HTMLResponse)
def source_replay(
    request: Request,
    name: str,
    ui: CallerDep,
    csrf: Annotated[str, Form()] = "",
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """A dry run answers at once with what would change; the real replay is a job (a
    source may hold millions of rows), polled on the Jobs page."""
    ui.check_csrf(csrf)
    state = state_of(request)
    source = ui.caller.source(name)
    if not source.is_raw:
        raise NotRawSourceError(f"source '{name}' is simple: it keeps no raw rows to replay")
    if dry_run:
        with state.pool.borrow() as store:
            preview = store.replay(source.name, dry_run=True)
        return _source_page(request, ui, name, None, replay_preview=preview)
    job, _ = state.jobs.submit("replay", {"source": source.name}, owner=ui.caller.owner)
    return RedirectResponse(f"/ui/jobs/{job.id}", status_code=303)


@router.post("/sources/{name}/retention", response_class=HTMLResponse)
def source_retention(
    request: Request,
    name: str,
    ui: CallerDep,
    csrf: Annotated[str, Form()] = "",
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """Dry run first: the page shows what would be purged and a button to purge it."""
    ui.check_csrf(csrf)
    state = state_of(request)
    source = ui.caller.source(name)
    if not source.is_raw:
        raise NotRawSourceError(f"source '{name}' is simple: it keeps no raw rows")
    actor = f"ui:{ui.caller.key.name}"
    with state.pool.borrow() as store:
        reports = store.retention_run(dry_run=dry_run, actor=actor, source=source.name)
    return _source_page(request, ui, name, None, retention=reports, retention_dry=dry_run)
