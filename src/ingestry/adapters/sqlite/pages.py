"""An HTTP pull's page rows written in the storage's own transaction on SQLite
(`PageRowsSession`), beside the items they held: one commit where there were two
(the items', then the ledger's), and a page row, with its ETag, never stored without
its items.

The row is the one `adapters.sql.harvest` writes through SQLAlchemy, spelled as
SQLAlchemy's SQLite types store it (JSON as `json.dumps` text, DATETIME as
`YYYY-MM-DD HH:MM:SS.ffffff`), so the ledger reads it back the same: a contract test
compares both writes column by column."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from ingestry.adapters.sql.harvest import page_row
from ingestry.services.ports import StoredPage

INSERT_PAGE = (
    "INSERT INTO harvest_pages (source, run_srn, seq, request_key, url, status, headers,"
    " etag, body, sha256, received_at, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


def add_pages(conn: sqlite3.Connection, pages: Sequence[StoredPage]) -> None:
    rows = []
    for page in pages:
        r = page_row(page)
        rows.append(
            (r["source"], r["run_srn"], r["seq"], r["request_key"], r["url"], r["status"],
             json.dumps(r["headers"]), r["etag"], r["body"], r["sha256"],
             r["received_at"].strftime("%Y-%m-%d %H:%M:%S.%f"), r["error"])
        )  # fmt: skip
    conn.executemany(INSERT_PAGE, rows)
