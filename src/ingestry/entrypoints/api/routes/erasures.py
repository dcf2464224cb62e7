"""POST /v1/erasures (erase a record for good) and GET /v1/erasures (the audit).

Admin keys only: an erasure crosses every source scope's promise of keeping data, and
its audit names every erasure (docs/erasure.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingestry.entrypoints.api.errors import documented
from ingestry.entrypoints.api.security import AdminDep
from ingestry.entrypoints.api.state import StateDep

router = APIRouter(prefix="/v1/erasures", tags=["erasure"])


class ErasureIn(BaseModel):
    """Name the record by `srn`, or by `source` and `id` (as read from the data)."""

    model_config = ConfigDict(extra="forbid")

    srn: str | None = Field(default=None, max_length=4096)
    source: str | None = Field(default=None, max_length=255)
    id: str | None = Field(default=None, max_length=4096)
    reason: str = Field(min_length=1, max_length=2000, description="Kept in the audit.")
    by: str | None = Field(default=None, max_length=255, description="Who asks (kept).")

    @model_validator(mode="after")
    def _one_name(self) -> ErasureIn:
        if (self.srn is None) == (self.source is None or self.id is None):
            raise ValueError("give srn, or source and id (not both)")
        return self


class ErasureOut(BaseModel):
    srn: str
    erased: bool
    convention: str
    data_sources: list[str]
    audit_id: int
    srn_sha256: str
    actor: str
    reason: str
    records: int
    versions: int
    events: int
    hook_runs: int
    features: int
    raw_payloads: int
    receipts: int


class ErasureAuditOut(BaseModel):
    id: int
    at: str
    actor: str
    reason: str
    convention: str
    data_source: str | None
    srn_sha256: str
    content_hashes: list[str]
    raw_sha256s: list[str]
    counts: dict[str, int]


@router.post("", response_model=ErasureOut, responses=documented(404, 409, 422))
def erase(body: ErasureIn, caller: AdminDep, state: StateDep) -> dict[str, Any]:
    """Erase a record: every version, events, features, the raw payloads of its id;
    409 `legal_hold` while a raw hold covers it."""
    actor = body.by or f"api:{caller.key.prefix}"
    with state.pool.borrow() as store:
        report = store.erase(
            body.srn, source=body.source, source_id=body.id, reason=body.reason, actor=actor
        )
    return report.to_dict()


@router.get("", response_model=list[ErasureAuditOut], responses=documented())
def erasures(
    _: AdminDep,
    state: StateDep,
    srn: Annotated[str | None, Query(max_length=4096)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The erasure audit, newest first (one record's, by its srn's digest)."""
    with state.pool.borrow() as store:
        return [a.to_dict() for a in store.erasures(srn, limit=limit)]
