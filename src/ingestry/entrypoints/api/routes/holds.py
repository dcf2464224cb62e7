"""POST /v1/holds, GET /v1/holds, POST /v1/holds/{id}/release: the raw holds of
`ingestry raw hold|holds|release` over the API (issue 19 item 3).

Admin keys only: a hold keeps a source's raw rows from retention and from erasure
(docs/erasure.md, "Legal holds block it"), across every key's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from ingestry.domain.errors import HoldReleasedError
from ingestry.domain.retention import RawHold
from ingestry.entrypoints.api.errors import ApiError, documented
from ingestry.entrypoints.api.security import AdminDep
from ingestry.entrypoints.api.state import StateDep

router = APIRouter(prefix="/v1/holds", tags=["erasure"])

#: A hold's id (a BIGINT): larger numbers are a 422, never a database overflow.
HoldId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


class HoldIn(BaseModel):
    """A hold on a raw source, or on one source id there (`id`)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=255)
    id: str | None = Field(default=None, max_length=4096, description="One source id.")
    until: datetime | None = Field(default=None, description="Ends then (default: released).")
    reason: str | None = Field(default=None, max_length=2000, description="Kept.")
    by: str | None = Field(default=None, max_length=255, description="Who places it (kept).")


class HoldOut(BaseModel):
    """As `ingestry raw holds --json`."""

    id: int
    source: str
    source_id: str | None
    reason: str | None
    held_until: str | None
    created_at: str
    created_by: str
    released_at: str | None
    released_by: str | None


def hold_out(hold: RawHold) -> dict[str, Any]:
    def at(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": hold.id, "source": hold.source, "source_id": hold.source_id,
        "reason": hold.reason, "held_until": at(hold.held_until),
        "created_at": hold.created_at.isoformat(), "created_by": hold.created_by,
        "released_at": at(hold.released_at), "released_by": hold.released_by,
    }  # fmt: skip


@router.post("", response_model=HoldOut, status_code=201, responses=documented(404, 422))
def place(body: HoldIn, caller: AdminDep, state: StateDep) -> dict[str, Any]:
    """Place a hold (422 `not_a_raw_source` on a simple source: it keeps no raw rows)."""
    actor = body.by or f"api:{caller.key.prefix}"
    with state.pool.borrow() as store:
        placed = store.raw_hold(
            body.source, source_id=body.id, until=body.until, reason=body.reason, actor=actor
        )
    return hold_out(placed)


@router.get("", response_model=list[HoldOut], responses=documented(404))
def holds(
    _: AdminDep,
    state: StateDep,
    source: Annotated[str | None, Query(max_length=255)] = None,
    active: Annotated[bool, Query(description="Only holds in force now.")] = False,
) -> list[dict[str, Any]]:
    """Raw holds, oldest first."""
    with state.pool.borrow() as store:
        return [hold_out(h) for h in store.raw_holds(source, active=active)]


@router.post("/{hold_id}/release", response_model=HoldOut, responses=documented(404, 409, 422))
def release(hold_id: HoldId, caller: AdminDep, state: StateDep) -> dict[str, Any]:
    """End a hold (409 `hold_released` when it was released already)."""
    with state.pool.borrow() as store:
        try:
            return hold_out(store.raw_release(hold_id, actor=f"api:{caller.key.prefix}"))
        except HoldReleasedError as exc:
            raise ApiError(409, str(exc), code="hold_released") from None
