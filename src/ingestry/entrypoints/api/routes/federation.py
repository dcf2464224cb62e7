"""Federation's read side: GET /v1/node (this store's node id)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ingestry.entrypoints.api.errors import error_doc
from ingestry.entrypoints.api.schemas import ErrorOut, NodeOut
from ingestry.entrypoints.api.security import CallerDep
from ingestry.entrypoints.api.state import StateDep

router = APIRouter(prefix="/v1", tags=["federation"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorOut, **error_doc(c)} for c in (401, 403, 429, *codes)}


@router.get("/node", response_model=NodeOut, responses=_errors())
def node(_: CallerDep, state: StateDep) -> NodeOut:
    """This store's stable node id: the `source_node` of records other nodes fork or
    import from it. Any valid key may read it."""
    with state.pool.borrow() as store:
        return NodeOut(node_id=store.node_id())
