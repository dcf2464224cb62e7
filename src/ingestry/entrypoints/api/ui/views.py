"""The /ui pages: thin handlers over the same Store methods the API and CLI call.

Every handler reads at most one page (keyset cursors in the URL, so a page can be
shared and the back button works); no SQL here. Errors render as HTML pages with the
API's status for the same error (403 for a source outside the key's scope).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingestry.domain.errors import (
    IngestryError,
    NotPermittedError,
    QueryError,
    RecordNotFoundError,
)
from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record
from ingestry.entrypoints.api.errors import CORE_ERRORS
from ingestry.entrypoints.api.state import ApiState
from ingestry.entrypoints.api.ui.auth import (
    COOKIE,
    LoginRequired,
    UiCaller,
    authenticate,
    ui_caller,
)
from ingestry.entrypoints.api.ui.counts import Counts, CountsCache
from ingestry.entrypoints.api.ui.pages import render
from ingestry.entrypoints.api.ui.plots import Point, filled, legend_html, volume_svg
from ingestry.entrypoints.api.ui.present import diff, pretty_json, show_bytes
from ingestry.services.ports.browse import QuarantineFilter, jobs_cursor
from ingestry.services.replay import NotRawSourceError

PAGE = 50  # rows per page everywhere
PLOT_SPAN = {"hour": timedelta(hours=48), "day": timedelta(days=30), "week": timedelta(weeks=26)}
PLOT_LABEL = {"hour": "%d %Hh", "day": "%m-%d", "week": "%Y-%m-%d"}
#: "replay all matching" takes at most this many entries per click (a job does more).
ALL_MATCHING = 20_000


class UiRoute(APIRoute):
    """Errors of a /ui page answer as HTML: the login page for a missing key, else an
    error page with the status the API gives the same error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return login_page(request, exc.message, status=401)
            except IngestryError as exc:
                return error_page(request, status_of(exc), str(exc))
            except RequestValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return error_page(request, 400, f"bad request: {problems}")
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail), exc.headers)

        return run


def status_of(exc: IngestryError) -> int:
    if isinstance(exc, NotRawSourceError):
        return 422
    return next((status for kind, status, _ in CORE_ERRORS if isinstance(exc, kind)), 500)


router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
CallerDep = Annotated[UiCaller, Depends(ui_caller)]


def state_of(request: Request) -> ApiState:
    state: ApiState = request.app.state.ingestry
    return state


def page(
    request: Request, template: str, ui: UiCaller | None, http_status: int = 200, **ctx: Any
) -> HTMLResponse:
    html = render(template, request=request, ui=ui, **ctx)
    return HTMLResponse(html, status_code=http_status, headers={"Cache-Control": "no-store"})


def login_page(request: Request, message: str = "", *, status: int = 200) -> HTMLResponse:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = wanted if wanted.startswith("/ui") and not wanted.startswith("/ui/login") else "/ui"
    return page(request, "login.html", None, status, message=message, next=target)


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    response = page(request, "error.html", None, status, status=status, message=message)
    response.headers.update(headers or {})
    return response


def _since(every: str) -> datetime:
    return datetime.now(UTC) - PLOT_SPAN[every]


def _plot(title: str, buckets: Sequence[Any], every: str) -> str:
    points = [Point(b.bucket, b.counts) for b in buckets]
    points = filled(points, every, _since(every), datetime.now(UTC))
    return volume_svg(title, points, label_format=PLOT_LABEL[every])


def _every(value: str | None) -> str:
    return value if value in PLOT_SPAN else "day"


# --- sign in and out ------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/ui") -> HTMLResponse:
    return page(request, "login.html", None, message="", next=next)


@router.post("/login")
async def login(
    request: Request,
    key: Annotated[str, Form(max_length=512)],
    next: Annotated[str, Form(max_length=2048)] = "/ui",
) -> Response:
    caller = await authenticate(state_of(request), key.strip())
    if caller is None:
        return login_page(request, "that key is unknown or revoked", status=401)
    target = next if next.startswith("/ui") and not next.startswith("//") else "/ui"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/logout")
def logout(ui: CallerDep, csrf: Annotated[str, Form()] = "") -> Response:
    ui.check_csrf(csrf)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


# --- overview -----------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def overview(request: Request, ui: CallerDep, every: str | None = None) -> HTMLResponse:
    state = state_of(request)
    chosen = _every(every)
    sources = sorted(ui.caller.sources(), key=lambda s: s.name)
    names = [s.name for s in sources]
    counts = counts_of(request).get(lambda: _count(state))
    with state.pool.borrow() as store:
        last = {name: next(iter(store.runs(name, None, 1)), None) for name in names}
        buckets = store.stats_over_time(chosen, names, _since(chosen).isoformat()) if names else []
    plots = []
    for source in sources:
        mine = [b for b in buckets if b.source == source.name]
        plots.append(
            (source.name, _plot(f"ingest volume of {source.name} per {chosen}", mine, chosen))
        )
    return page(
        request,
        "overview.html",
        ui,
        sources=sources,
        counts=counts,
        last=last,
        plots=plots,
        legend=legend_html(),
        every=chosen,
    )


def counts_of(request: Request) -> CountsCache:
    cache: CountsCache = request.app.state.ui_counts
    return cache


def _count(state: ApiState) -> Counts:
    """Whole-store counts for the overview (see counts.py for why they are cached)."""
    start = time.perf_counter()
    with state.pool.borrow() as store:
        stats = store.stats()
        extractors = {s.source: s for s in store.extractor_status()}
    queue = state.pool.primary.control.browse.queue_state(10)
    return Counts(datetime.now(UTC), stats, extractors, queue, time.perf_counter() - start)


# --- source -------------------------------------------------------------------------------


def _source_page(
    request: Request, ui: UiCaller, name: str, every: str | None, **extra: Any
) -> HTMLResponse:
    state = state_of(request)
    source = ui.caller.source(name)
    chosen = _every(every)
    convention = state.settings.convention(source.convention)
    with state.pool.borrow() as store:
        runs = store.runs(source.name, None, 20)
        buckets = store.stats_over_time(chosen, [source.name], _since(chosen).isoformat())
        holds = store.raw_holds(source.name) if source.is_raw else []
        audit = store.retention_audit(source.name, limit=10) if source.is_raw else []
    config = dataclasses.asdict(source)
    return page(
        request,
        "source.html",
        ui,
        source=source,
        config=pretty_json(config),
        columns=pretty_json({c.name: dataclasses.asdict(c) for c in convention.columns}),
        runs=runs,
        plot=_plot(f"ingest volume of {source.name} per {chosen}", buckets, chosen),
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


# --- quarantine ---------------------------------------------------------------------------


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name} must be a date or an ISO time, not {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filter(
    ui: UiCaller, source: str | None, reason: str | None, since: str | None, until: str | None,
    status: str | None,
) -> QuarantineFilter:  # fmt: skip
    sources = [ui.caller.source(source).name] if source else [s.name for s in ui.caller.sources()]
    return QuarantineFilter(
        sources=sources,
        reason=reason or None,
        since=_moment(since, "since"),
        until=_moment(until, "until"),
        status=status if status in {"open", "released", "discarded"} else "open",
    )


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine(
    request: Request,
    ui: CallerDep,
    source: str | None = None,
    reason: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: str | None = None,
    after: int | None = None,
    done: str | None = None,
) -> HTMLResponse:
    state = state_of(request)
    where = _filter(ui, source, reason, since, until, status)
    browse = state.pool.primary.control.browse
    entries = browse.quarantine_page(where, after, PAGE + 1)
    groups = browse.quarantine_reasons(where, 50)
    filters = {
        k: v
        for k, v in {"source": source, "reason": reason, "since": since, "until": until,
                     "status": status}.items()
        if v
    }  # fmt: skip
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    next_url = (
        f"/ui/quarantine?{urlencode({**filters, 'after': entries[-1].id})}"
        if more and entries
        else None
    )
    return page(
        request,
        "quarantine.html",
        ui,
        entries=[(e, show_bytes(e.payload)) for e in entries],
        groups=groups,
        filters=filters,
        sources=sorted(s.name for s in ui.caller.sources()),
        next_url=next_url,
        first_page=after is not None,
        query=urlencode(filters),
        done=done,
        matching=sum(g.count for g in groups),
    )


@router.get("/quarantine/{entry_id}", response_class=HTMLResponse)
def quarantine_entry(request: Request, entry_id: int, ui: CallerDep) -> HTMLResponse:
    state = state_of(request)
    with state.pool.borrow() as store:
        detail = store.quarantine_entry(entry_id)
    if not ui.caller.key.may_use_source(detail.entry.source):
        raise NotPermittedError(f"this API key may not use source '{detail.entry.source}'")
    data = detail.entry.payload or detail.raw_payload or b""
    return page(request, "quarantine_entry.html", ui, detail=detail, shown=show_bytes(data))


def _selected(ui: UiCaller, picked: Sequence[str]) -> dict[str, list[int]]:
    """Form values `source:id`, grouped by source; every source checked against the key."""
    out: dict[str, list[int]] = {}
    for value in picked:
        name, _, ident = value.rpartition(":")
        if not ident.isdigit():
            raise NotPermittedError(f"bad entry reference {value!r}")
        out.setdefault(ui.caller.source(name).name, []).append(int(ident))
    return out


@router.post("/quarantine/replay", response_class=HTMLResponse)
def quarantine_replay(
    request: Request,
    ui: CallerDep,
    csrf: Annotated[str, Form()] = "",
    entry: Annotated[list[str] | None, Form()] = None,
    scope: Annotated[str, Form()] = "selected",
    source: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    dry_run: Annotated[bool, Form()] = False,
    back: Annotated[str, Form()] = "",
) -> Response:
    """Extract the chosen entries again with the source's current convention; those that
    pass are released into records. `scope=all` takes every open entry the filter matches
    (one source at a time)."""
    ui.check_csrf(csrf)
    state = state_of(request)
    if scope == "all":
        if not source:
            raise NotPermittedError("replaying all matching entries needs a source filter")
        where = _filter(ui, source, reason, since, until, "open")
        chosen = {source: state.pool.primary.control.browse.quarantine_ids(where, ALL_MATCHING)}
    else:
        chosen = _selected(ui, entry or [])
    summaries = []
    with state.pool.borrow() as store:
        for name, ids in chosen.items():
            if ids:
                summaries.append(store.quarantine_replay(name, ids, dry_run=dry_run))
    if dry_run:
        return page(
            request, "replay_preview.html", ui, summaries=summaries, chosen=chosen, scope=scope,
            form={"source": source, "reason": reason, "since": since, "until": until},
            back=_back(back),
        )  # fmt: skip
    released = sum(s.released_from_quarantine for s in summaries)
    still = sum(s.quarantined for s in summaries)
    target = _back(back)
    glue = "&" if "?" in target else "?"
    return RedirectResponse(
        f"{target}{glue}{urlencode({'done': f'released {released}, still quarantined {still}'})}",
        status_code=303,
    )


def _back(value: str) -> str:
    return value if value.startswith("/ui/quarantine") else "/ui/quarantine"


@router.post("/quarantine/discard")
def quarantine_discard(
    request: Request,
    ui: CallerDep,
    csrf: Annotated[str, Form()] = "",
    entry: Annotated[list[str] | None, Form()] = None,
    why: Annotated[str, Form(max_length=1000)] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """Close the chosen entries without extracting them; `why` goes to the audit trail."""
    ui.check_csrf(csrf)
    reason = why
    if not reason.strip():
        raise NotPermittedError("discarding needs a reason (it is kept in the audit trail)")
    state = state_of(request)
    chosen = _selected(ui, entry or [])
    with state.pool.borrow() as store:
        for name, ids in chosen.items():  # the claimed source must be the entry's own
            for ident in ids:
                if store.quarantine_entry(ident).entry.source != name:
                    raise RecordNotFoundError(f"no quarantine entry #{ident} in source {name}")
        gone = [
            i
            for ids in chosen.values()
            for i in store.quarantine_discard(
                ids, reason=reason.strip(), actor=f"ui:{ui.caller.key.name}"
            )
        ]
    target = _back(back)
    glue = "&" if "?" in target else "?"
    return RedirectResponse(
        f"{target}{glue}{urlencode({'done': f'discarded {len(gone)}'})}", status_code=303
    )


# --- records ------------------------------------------------------------------------------


@router.get("/records", response_class=HTMLResponse)
def records(
    request: Request,
    ui: CallerDep,
    convention: str,
    source: str | None = None,
    after: str | None = None,
) -> HTMLResponse:
    """One page of a convention's records (of one source when asked), in srn order."""
    state = state_of(request)
    allowed = ui.caller.data_sources_of(convention)
    if source:
        ui.caller.source(source)
        allowed = {source} if allowed is None or source in allowed else set()
    items: list[Record] = []
    cursor = after
    more = False
    with state.pool.borrow() as store:
        for _ in range(10):  # a scoped page reads at most 10 pages (as the API does)
            batch = list(store.records(convention, limit=PAGE + 1, after=cursor))
            left = len(batch)
            for found in batch[:PAGE]:
                cursor = found.srn
                left -= 1
                if allowed is None or found.data_source in allowed:
                    items.append(found)
                    if len(items) == PAGE:
                        break
            more = left > 0
            if len(items) == PAGE or len(batch) <= PAGE:
                break
    params = {"convention": convention, **({"source": source} if source else {})}
    next_url = f"/ui/records?{urlencode({**params, 'after': cursor})}" if more and cursor else None
    columns = [c.name for c in state.settings.convention(convention).columns]
    return page(
        request, "records.html", ui, convention=convention, source=source, items=items,
        columns=columns, next_url=next_url,
    )  # fmt: skip


@router.get("/records/{srn:path}", response_class=HTMLResponse)
def record(
    request: Request,
    srn: str,
    ui: CallerDep,
    a: int | None = None,
    b: int | None = None,
) -> HTMLResponse:
    state = state_of(request)
    allowed = ui.caller.check_srn(srn)
    browse = state.pool.primary.control.browse
    with state.pool.borrow() as store:
        versions = store.history(srn)
        current = ui.caller.check_record(versions[-1], allowed)
        features = store.features(srn)
        raw = []
        if current.data_source and store.source(current.data_source).is_raw:
            raw = store.raw(current.data_source, current.source.id)[-5:]
    events = browse.record_events(srn, PAGE)
    hooks = browse.record_hook_runs(srn, PAGE)
    by_version = {r.version: r for r in versions}
    new = by_version.get(b or current.version, current)
    old = by_version.get(a or max(new.version - 1, 1), versions[0])
    changes = diff(_document(old), _document(new)) if old is not new else []
    return page(
        request,
        "record.html",
        ui,
        record=current,
        provenance=source_to_dict(current.source),
        metadata=pretty_json(current.metadata),
        versions=list(reversed(versions)),
        old=old,
        new=new,
        changes=changes,
        features=features,
        raw=[(p, show_bytes(p.payload)) for p in reversed(raw)],
        events=events,
        hooks=hooks,
    )


def _document(record: Record) -> dict[str, Any]:
    return {"columns": dict(record.columns), "metadata": dict(record.metadata)}


# --- jobs ---------------------------------------------------------------------------------


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
