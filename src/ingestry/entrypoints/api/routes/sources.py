"""GET /v1/sources: the sources this key may use."""

from __future__ import annotations

from fastapi import APIRouter

from ingestry.entrypoints.api.errors import error_doc
from ingestry.entrypoints.api.schemas import ErrorOut, SourceList, SourceOut
from ingestry.entrypoints.api.security import CallerDep

router = APIRouter(prefix="/v1", tags=["sources"])


@router.get(
    "/sources",
    response_model=SourceList,
    responses={c: {"model": ErrorOut, **error_doc(c)} for c in (401, 429)},
)
def list_sources(caller: CallerDep) -> SourceList:
    return SourceList(
        sources=[
            SourceOut(
                name=s.name,
                strategy=s.strategy.value,
                convention=s.convention,
                format=s.format.value,
                rationale=s.rationale,
                retention_days=s.retention_days,
            )
            for s in caller.sources()
        ]
    )
