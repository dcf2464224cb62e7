"""Records: keyset-paginated list, get, history, features, PATCH with If-Match, and
DELETE (soft: a tombstone version; docs/deleting.md)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from ingestry.entrypoints.api.errors import ApiError, error_doc
from ingestry.entrypoints.api.render import record_out
from ingestry.entrypoints.api.schemas import (
    DeleteOut,
    ErrorOut,
    FeatureList,
    FeatureOut,
    HookOutcomeOut,
    HookRerunOut,
    RecordCount,
    RecordHistory,
    RecordOut,
    RecordPage,
    RecordPatch,
)
from ingestry.entrypoints.api.security import CallerDep
from ingestry.entrypoints.api.state import StateDep

router = APIRouter(prefix="/v1/records", tags=["records"])

WHERE = "Filter on a declared column: COL=V, COL!=V, COL<V, COL<=V, COL>V, COL>=V, 'COL in A,B'."
SINCE = "Time column >= this ISO timestamp (default column: the first required timestamp)."
UNTIL = "Time column < this ISO timestamp."
BBOX = "MINX,MINY,MAXX,MAXY: keep records whose geometry intersects this box (exactly)."
GEOMETRY_COLUMN = "Geometry column bbox tests (default: the convention's only one)."
HOOK = "Only this hook (default: every hook of the record's convention)."
SORT = "Sort by a declared column (empty values last); identity breaks ties."
INCLUDE_DELETED = "A soft-deleted record: answer with its tombstone version instead of 404."
REASON = "Why the record is deleted (kept with the tombstone version)."

#: A scoped list skips other sources' records; it reads at most this many pages of
#: `limit` rows per request, then returns a short page with a cursor to go on.
SCAN_PAGES = 10


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorOut, **error_doc(c)} for c in (401, 403, 429, *codes)}


def encode_cursor(srn: str) -> str:
    return base64.urlsafe_b64encode(srn.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        srn = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "invalid cursor", code="invalid_cursor") from None
    if not srn.startswith("srn:ingestry:record:"):
        raise ApiError(400, "invalid cursor", code="invalid_cursor")
    return srn


@router.get("", response_model=RecordPage, responses=_errors(400, 404))
def list_records(
    convention: Annotated[str, Query(min_length=1)],
    caller: CallerDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    where: Annotated[list[str] | None, Query(max_length=4096, description=WHERE)] = None,
    since: Annotated[str | None, Query(max_length=64, description=SINCE)] = None,
    until: Annotated[str | None, Query(max_length=64, description=UNTIL)] = None,
    time_column: Annotated[str | None, Query(max_length=255)] = None,
    sort: Annotated[str | None, Query(max_length=255, description=SORT)] = None,
    desc: bool = False,
    bbox: Annotated[str | None, Query(max_length=255, description=BBOX)] = None,
    geometry_column: Annotated[
        str | None, Query(max_length=255, description=GEOMETRY_COLUMN)
    ] = None,
) -> RecordPage:
    allowed = caller.data_sources_of(convention)
    after = decode_cursor(cursor) if cursor else None
    filters: dict[str, Any] = {
        "where": where or (),
        "since": since,
        "until": until,
        "time_column": time_column,
        "bbox": bbox,
        "geometry_column": geometry_column,
    }
    items: list[RecordOut] = []
    left_over = 0  # records read past the last one returned (one more = a next page)
    with state.pool.borrow() as store:
        for _ in range(SCAN_PAGES):
            page = list(
                store.records(
                    convention, limit=limit + 1, after=after, sort=sort, desc=desc, **filters
                )
            )
            left_over = len(page)
            for record in page[:limit]:
                after = record.srn
                left_over -= 1
                if allowed is None or record.data_source in allowed:
                    items.append(record_out(record))
                    if len(items) == limit:
                        break
            if len(items) == limit or len(page) <= limit:
                break
    # a scoped scan may stop short of `limit` (its budget); the cursor goes on from the
    # last record read, so nothing is skipped and no page costs more than SCAN_PAGES reads
    more = left_over > 0 and after is not None
    return RecordPage(items=items, next_cursor=encode_cursor(after) if more and after else None)


@router.get("/count", response_model=RecordCount, responses=_errors(400, 404))
def count_records(
    convention: Annotated[str, Query(min_length=1)],
    caller: CallerDep,
    state: StateDep,
    where: Annotated[list[str] | None, Query(max_length=4096, description=WHERE)] = None,
    since: Annotated[str | None, Query(max_length=64, description=SINCE)] = None,
    until: Annotated[str | None, Query(max_length=64, description=UNTIL)] = None,
    time_column: Annotated[str | None, Query(max_length=255)] = None,
    bbox: Annotated[str | None, Query(max_length=255, description=BBOX)] = None,
    geometry_column: Annotated[
        str | None, Query(max_length=255, description=GEOMETRY_COLUMN)
    ] = None,
) -> RecordCount:
    """How many records match, counting only the sources the key may read."""
    allowed = caller.data_sources_of(convention)
    with state.pool.borrow() as store:
        found = store.count(
            convention,
            where=where or (),
            since=since,
            until=until,
            time_column=time_column,
            data_sources=allowed or (),
            bbox=bbox,
            geometry_column=geometry_column,
        )
    return RecordCount(count=found)


@router.get("/{srn}", response_model=RecordOut, responses=_errors(404))
def get_record(
    srn: str,
    response: Response,
    caller: CallerDep,
    state: StateDep,
    include_deleted: Annotated[bool, Query(description=INCLUDE_DELETED)] = False,
) -> RecordOut:
    """The current version; a soft-deleted record is 404 (the message says when it was
    deleted) unless `include_deleted` (then its tombstone version, `deleted` set)."""
    allowed = caller.check_srn(srn)
    with state.pool.borrow() as store:
        record = caller.check_record(store.get(srn, include_deleted=include_deleted), allowed)
    response.headers["ETag"] = f'"{record.version}"'
    return record_out(record)


@router.get("/{srn}/history", response_model=RecordHistory, responses=_errors(404))
def record_history(srn: str, caller: CallerDep, state: StateDep) -> RecordHistory:
    allowed = caller.check_srn(srn)
    with state.pool.borrow() as store:
        versions = store.history(srn)
    caller.check_record(versions[-1], allowed)
    return RecordHistory(srn=srn, versions=[record_out(r) for r in versions])


@router.get("/{srn}/features", response_model=FeatureList, responses=_errors(404))
def record_features(srn: str, caller: CallerDep, state: StateDep) -> FeatureList:
    allowed = caller.check_srn(srn)
    with state.pool.borrow() as store:
        caller.check_record(store.get(srn), allowed)
        found = store.features(srn)
    return FeatureList(
        srn=srn,
        features=[
            FeatureOut(
                name=f.name,
                value=f.value,
                record_version=f.record_version,
                hook=f.hook,
                produced_at=f.produced_at,
            )
            for f in found
        ],
    )


@router.post("/{srn}/hooks/rerun", response_model=HookRerunOut, responses=_errors(404))
def rerun_hooks(
    srn: str,
    caller: CallerDep,
    state: StateDep,
    hook: Annotated[str | None, Query(max_length=255, description=HOOK)] = None,
) -> HookRerunOut:
    """Run the record's hooks again now (`ingestry hooks rerun`), recorded as hook runs."""
    allowed = caller.check_srn(srn)
    with state.pool.borrow() as store:
        caller.check_record(store.get(srn), allowed)
        outcomes = store.rerun_hooks(srn, hook)
    runs = [
        HookOutcomeOut(
            hook=o.hook,
            version=o.version,
            status=o.status,
            exit_code=o.exit_code,
            reason=o.reason,
            features=o.features,
            started_at=o.started_at,
            duration_seconds=o.duration_seconds,
        )
        for o in outcomes
    ]
    return HookRerunOut(srn=srn, runs=runs)


def parse_if_match(value: str | None) -> int:
    if value is None:
        raise ApiError(428, "PATCH needs If-Match: <version> (the version you read)")
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ApiError(400, f"If-Match must be a record version number, not {value!r}")
    return int(text)


@router.patch("/{srn}", response_model=RecordOut, responses=_errors(400, 404, 409, 422, 428))
def patch_record(
    srn: str,
    patch: RecordPatch,
    response: Response,
    caller: CallerDep,
    state: StateDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> RecordOut:
    allowed = caller.check_srn(srn)
    expected = parse_if_match(if_match)
    with state.pool.borrow() as store:
        caller.check_record(store.get(srn), allowed)
        record = store.update(srn, patch.metadata, expected)
    response.headers["ETag"] = f'"{record.version}"'
    return record_out(record)


@router.delete("/{srn}", response_model=DeleteOut, responses=_errors(404))
def delete_record(
    srn: str,
    caller: CallerDep,
    state: StateDep,
    reason: Annotated[str | None, Query(max_length=2000, description=REASON)] = None,
) -> DeleteOut:
    """Soft-delete a record (`ingestry records delete`): a tombstone version, a
    RecordDeleted event; it leaves lists, counts, exports and queries. Deleting it again
    answers 200 with `"already deleted"`; unknown or out of the key's scope: 404."""
    allowed = caller.check_srn(srn)
    with state.pool.borrow() as store:
        caller.check_record(store.get(srn, include_deleted=True), allowed)
        report = store.delete(srn, reason=reason, actor=f"api:{caller.key.prefix}")
    return DeleteOut.model_validate(report.to_dict())
