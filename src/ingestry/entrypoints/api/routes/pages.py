"""A pulled source's kept responses: GET /v1/sources/{source}/pages (without their
bytes, keyset by page id) and GET /v1/sources/{source}/pages/{id} (the bytes exactly
as received). The CLI's `raw pages` and `raw page`; a key sees the pages of the
sources it may use (docs/harvest.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ingestry.domain.errors import RecordNotFoundError
from ingestry.entrypoints.api.errors import documented
from ingestry.entrypoints.api.schemas import PageList, PageOut
from ingestry.entrypoints.api.security import CallerDep
from ingestry.entrypoints.api.state import StateDep

router = APIRouter(prefix="/v1/sources", tags=["sources"])


@router.get("/{source}/pages", response_model=PageList, responses=documented(404))
def list_pages(
    source: str,
    caller: CallerDep,
    state: StateDep,
    run: Annotated[str | None, Query(max_length=255)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PageList:
    """Kept responses oldest first; `next_after` continues the list (null at its end)."""
    name = caller.source(source).name
    with state.pool.borrow() as store:
        found = store.harvest_page_list(name, run, after=after, limit=limit)
    items = [PageOut.model_validate(info, from_attributes=True) for info in found]
    more = len(found) == limit
    return PageList(items=items, next_after=found[-1].id if more and found else None)


@router.get(
    "/{source}/pages/{page_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the bytes"},
        **documented(404),
    },
)
def get_page(source: str, page_id: int, caller: CallerDep, state: StateDep) -> Response:
    """The page's bytes exactly as received; its URL, status and run in headers."""
    name = caller.source(source).name
    with state.pool.borrow() as store:
        page = store.harvest_page(page_id)
    if page.source != name:
        raise RecordNotFoundError(f"no kept page #{page_id} of {name}")
    headers = {
        "X-Ingestry-Url": page.url,
        "X-Ingestry-Status": str(page.status),
        "X-Ingestry-Run": page.run_srn,
        "X-Ingestry-Received-At": page.received_at,
    }
    if page.erased_at:
        headers["X-Ingestry-Erased-At"] = page.erased_at
    return Response(page.body, media_type="application/octet-stream", headers=headers)
