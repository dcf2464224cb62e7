"""Records: a page of a convention's records, and one record with its versions, diff,
features, raw rows, events and hook runs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record
from ingestry.entrypoints.api.ui.present import diff, pretty_json, show_bytes
from ingestry.entrypoints.api.ui.routing import PAGE, CallerDep, page, state_of, ui_router

router = ui_router()


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
