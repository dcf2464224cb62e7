"""Federation's read side: GET /v1/node (this store's node id) and GET /v1/changes
(the changes feed a forking node pages through; docs/federation.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from ingestry.domain.errors import InputError
from ingestry.domain.records import Record
from ingestry.entrypoints.api.errors import error_doc
from ingestry.entrypoints.api.schemas import ChangePageOut, ErrorOut, NodeOut
from ingestry.entrypoints.api.security import Caller, CallerDep
from ingestry.entrypoints.api.state import StateDep
from ingestry.services.changes import Visible, format_cursor
from ingestry.services.export import record_line

router = APIRouter(prefix="/v1", tags=["federation"])

AFTER = "The next_cursor of the previous page (none: from the first change)."
SINCE = "Only records whose updated_at is at or after this ISO timestamp."


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorOut, **error_doc(c)} for c in (401, 403, 429, *codes)}


def _readable(caller: Caller) -> list[str]:
    if caller.key.admin:
        return sorted(caller.settings.conventions)
    return sorted({s.convention for s in caller.sources()})


@router.get("/node", response_model=NodeOut, responses=_errors())
def node(caller: CallerDep, state: StateDep) -> NodeOut:
    """This store's stable node id (the `source_node` of records other nodes fork or
    import from it) and the conventions this key may read. Any valid key may ask."""
    with state.pool.borrow() as store:
        return NodeOut(node_id=store.node_id(), conventions=_readable(caller))


@router.get(
    "/changes",
    response_class=Response,
    responses={200: {"model": ChangePageOut}, **_errors(400, 404, 422)},
)
def changes(
    caller: CallerDep,
    state: StateDep,
    after: Annotated[str | None, Query(max_length=64, description=AFTER)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    convention: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    since: Annotated[str | None, Query(max_length=64, description=SINCE)] = None,
) -> Response:
    """Records created or changed after `after`, oldest change first, each at its
    newest version, as `records list --json` documents. A key sees its sources'
    records only (a page may then be short: go on while `has_more`)."""
    if convention is not None:
        allowed = {convention: caller.data_sources_of(convention)}
    else:
        allowed = {name: caller.data_sources_of(name) for name in _readable(caller)}
    visible = _visible(allowed, _since(since))
    with state.pool.borrow() as store:
        page = store.changes(after, limit=limit, conventions=list(allowed), visible=visible)
        node_id = store.node_id()
    head = orjson.dumps(
        {
            "node_id": node_id,
            "next_cursor": format_cursor(page.next_cursor),
            "has_more": page.has_more,
        }
    )
    items = b",".join(record_line(r).rstrip(b"\n") for r in page.records)
    return Response(head[:-1] + b',"items":[' + items + b"]}", media_type="application/json")


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"since: {text!r} is not an ISO 8601 timestamp") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _visible(allowed: dict[str, set[str] | None], since: datetime | None) -> Visible | None:
    if since is None and all(v is None for v in allowed.values()):
        return None

    def visible(record: Record) -> bool:
        sources = allowed.get(record.convention)
        if sources is not None and record.data_source not in sources:
            return False
        return since is None or record.updated_at >= since

    return visible
