"""The changes feed (`GET /v1/changes`): record versions in the order of a cursor that
only grows, so a forking node asks only for what changed since its last page.

A page reads up to `limit` change rows after the cursor, then the current records
they point at. A change whose record has moved on to a later version is skipped (the
later change carries it), so a record appears once per page run, at its newest
version; records a caller may not see (its key's scope, `since`) are skipped the same
way. The next cursor is the last change *read*, kept or skipped, so paging never
stalls and never repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import Deletion
from ingestry.domain.errors import InvalidCursorError
from ingestry.domain.records import Record
from ingestry.services.ports import Change, ChangeCursor, ChangeFeed
from ingestry.services.ports.changes import START as PORT_START

START: ChangeCursor = PORT_START
#: a record the caller may see (scope and --since), or not
Visible = Callable[[Record], bool]
#: which (srn, version) are tombstones (`DeletionStorage.tombstones`)
Tombstones = Callable[[Sequence[tuple[str, int]]], Mapping[tuple[str, int], Deletion]]


def parse_cursor(text: str | None) -> ChangeCursor:
    """`X.S` (what `next_cursor` gave) → (xid, seq); empty or None: the start."""
    if not text:
        return START
    xid, dot, seq = text.partition(".")
    if not (dot and xid.isdigit() and seq.isdigit()):
        raise InvalidCursorError(
            f"invalid changes cursor {text!r}: give the next_cursor a page returned "
            "(or none to start from the beginning)"
        )
    return int(xid), int(seq)


def format_cursor(cursor: ChangeCursor) -> str:
    return f"{cursor[0]}.{cursor[1]}"


@dataclass(frozen=True, slots=True)
class ChangePage:
    records: list[Record]
    next_cursor: ChangeCursor
    has_more: bool


def read_changes(
    feed: ChangeFeed,
    conventions: Sequence[Convention],
    after: ChangeCursor,
    limit: int,
    visible: Visible | None = None,
    tombstones: Tombstones | None = None,
) -> ChangePage:
    """One page: the records changed after `after` in `conventions`, in cursor order.
    A soft-deleted record comes as its tombstone version, `deleted` set (from
    `tombstones`), so a fork deletes its copy too (docs/deleting.md)."""
    by_name = {c.name: c for c in conventions}
    changes = feed.changes(after, limit + 1, sorted(by_name))
    has_more = len(changes) > limit
    changes = changes[:limit]
    current = _current(feed, by_name, changes)
    records = []
    for change in changes:
        record = current.get((change.convention, change.record_id))
        if record is None or record.version != change.version:
            continue  # deleted, or a later change carries its newer version
        if visible is None or visible(record):
            records.append(record)
    next_cursor = changes[-1].cursor if changes else after
    if tombstones is not None and records:
        found = tombstones([(r.srn, r.version) for r in records])
        records = [replace(r, deleted=found.get((r.srn, r.version))) for r in records]
    return ChangePage(records, next_cursor, has_more)


def _current(
    feed: ChangeFeed, by_name: dict[str, Convention], changes: list[Change]
) -> dict[tuple[str, int], Record]:
    ids: dict[str, list[int]] = {}
    for change in changes:
        ids.setdefault(change.convention, []).append(change.record_id)
    out: dict[tuple[str, int], Record] = {}
    for name, wanted in ids.items():
        for record_id, record in feed.records_by_id(by_name[name], wanted).items():
            out[(name, record_id)] = record
    return out
