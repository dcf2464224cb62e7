"""Jobs: a page of the key's jobs by status, and one job with its params and result."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from ingestry.entrypoints.api.ui.present import pretty_json
from ingestry.entrypoints.api.ui.routing import PAGE, CallerDep, page, state_of, ui_router
from ingestry.services.ports.browse import jobs_cursor

router = ui_router()


@router.get("/jobs", response_class=HTMLResponse)
def jobs(
    request: Request, ui: CallerDep, status: str | None = None, after: str | None = None
) -> HTMLResponse:
    state = state_of(request)
    chosen = status if status in {"queued", "running", "succeeded", "failed"} else None
    found = state.pool.primary.control.browse.jobs_page(
        ui.caller.job_owner_filter, chosen, after, PAGE + 1
    )
    more = len(found) > PAGE
    found = found[:PAGE]
    params = {"status": chosen} if chosen else {}
    next_url = (
        f"/ui/jobs?{urlencode({**params, 'after': jobs_cursor(found[-1])})}"
        if more and found
        else None
    )
    return page(request, "jobs.html", ui, jobs=found, status=chosen, next_url=next_url)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job(request: Request, job_id: str, ui: CallerDep) -> HTMLResponse:
    found = state_of(request).jobs.get(job_id, owner=ui.caller.job_owner_filter)
    return page(
        request,
        "job.html",
        ui,
        job=found,
        params=pretty_json(dict(found.params)),
        progress=pretty_json(found.progress) if found.progress else None,
        result=pretty_json(found.result) if found.result is not None else None,
    )
