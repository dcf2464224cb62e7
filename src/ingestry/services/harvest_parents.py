"""A child resource's parent values (`pull.for_each`, domain.parents): the distinct
values of a column among the parent source's current records, read once when the run
starts, in the records' identity order (so a run walks the parents in the same order
every time)."""

from __future__ import annotations

from ingestry.domain.conventions import Convention
from ingestry.domain.harvest import text_of
from ingestry.domain.query import RecordQuery
from ingestry.services.ports.storage import Storage

__all__ = ["parent_values"]


def parent_values(storage: Storage, convention: Convention, source: str, field: str) -> list[str]:
    """The text of each distinct, non-null value of `field` among `source`'s records
    (soft-deleted ones left out): the parents whose lists the run walks."""
    found: dict[str, None] = {}
    query = RecordQuery(data_sources=(source,))
    for page in storage.scan_columns(convention, [field], query):
        for value in page[0]:
            if value is not None:
                found.setdefault(text_of(value), None)
    return list(found)
