"""POST /v1/query: read-only SQL over the records, the service `ingestry query` runs
(docs/data-out.md, "Query over the API")."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ingestry.entrypoints.api.errors import error_doc
from ingestry.entrypoints.api.schemas import ErrorOut
from ingestry.entrypoints.api.security import Caller, CallerDep
from ingestry.entrypoints.api.state import StateDep

router = APIRouter(prefix="/v1", tags=["query"])

MAX_ROWS = 100_000


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(
        min_length=1,
        max_length=100_000,
        description="One read-only statement (SELECT / WITH … SELECT / VALUES) in DuckDB's "
        "SQL over one view per convention, named after it.",
    )
    limit: int = Field(
        default=1000, ge=1, le=MAX_ROWS, description="At most this many rows are returned."
    )


class QueryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[str]
    #: one list per row; exact decimals as digit strings, times as ISO text
    rows: list[list[Any]]
    #: true when the statement had more rows than `limit`
    truncated: bool


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorOut, **error_doc(c)} for c in (401, 403, 429, *codes)}


def readable(caller: Caller) -> list[str] | None:
    """The conventions a key may query: every one for an admin key; otherwise those
    whose every feeding source the key may use (a view holds all of a convention's
    records, so a key granted only some of its sources may not query it)."""
    if caller.key.admin:
        return None
    granted = set(caller.key.sources)
    feeding: dict[str, set[str]] = {}
    for source in caller.settings.sources.values():
        feeding.setdefault(source.convention, set()).add(source.name)
    return sorted(name for name, sources in feeding.items() if sources <= granted)


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _body(document: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(document, default=_value)
    except TypeError:  # integers beyond 64 bits stay exact digits
        return json.dumps(document, default=_value, separators=(",", ":")).encode()


@router.post(
    "/query",
    response_class=Response,
    responses={200: {"model": QueryOut}, **_errors(400, 422, 503)},
)
def query(spec: QueryIn, caller: CallerDep, state: StateDep) -> Response:
    """Run one read-only SQL statement (DuckDB) over the records, as `ingestry query`
    does. A key may query a convention when it may use every source that feeds it (an
    admin key: all); the statement reads no file or URL, and stops after
    `limits.statement_timeout_seconds` (503 `statement_timeout`)."""
    timeout = state.settings.limits.statement_timeout_seconds
    with state.pool.borrow() as store:
        result = store.query_for(spec.sql, readable(caller), timeout=timeout, limit=spec.limit + 1)
    rows = result.rows[: spec.limit]
    document = {
        "columns": list(result.columns),
        "rows": [list(row) for row in rows],
        "truncated": len(result.rows) > spec.limit,
    }
    return Response(_body(document), media_type="application/json")
