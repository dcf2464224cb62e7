"""Names of the tables made at run time, and text spelled into SQL, without SQLAlchemy
(the SQLite data path reads and writes record tables through the bare driver and must
not import it)."""

from __future__ import annotations

#: Every record table's name starts with this (one table per convention).
RECORD_TABLE_PREFIX = "records_"


def table_name(convention: str) -> str:
    """The record table of a convention."""
    return f"{RECORD_TABLE_PREFIX}{convention}"


def literal(text: str) -> str:
    """`text` as an SQL string literal (standard_conforming_strings, PostgreSQL's
    default, and SQLite's only way)."""
    return "'" + text.replace("'", "''") + "'"
