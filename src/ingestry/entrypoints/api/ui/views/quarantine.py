"""The quarantine: filtered pages of entries, one entry, and replaying or discarding
the chosen ones (or all matching a filter)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from ingestry.domain.errors import NotPermittedError, QueryError, RecordNotFoundError
from ingestry.entrypoints.api.ui.auth import UiCaller
from ingestry.entrypoints.api.ui.present import show_bytes
from ingestry.entrypoints.api.ui.routing import (
    LIST_BYTES,
    PAGE,
    CallerDep,
    page,
    state_of,
    ui_router,
)
from ingestry.services.ports.browse import QuarantineFilter

#: "replay all matching" takes at most this many entries per click (a job does more).
ALL_MATCHING = 20_000

router = ui_router()


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
        entries=[(e, show_bytes(e.payload, LIST_BYTES)) for e in entries],
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
