"""PostgreSQL: a direct append's receipts from the lines in hand (`receipts.lined_receipts`,
branch pgserver): the batch row once, then one receipt per row in row order, by the id
range when the ids were drawn at once and by the id list when another writer drew in
between; the same rows `written_receipts` writes by reading the new rows back."""

from __future__ import annotations

import psycopg
import pytest

from ingestry.adapters import migrate
from ingestry.adapters.postgres.receipts import LINED_IDS, LINED_RANGE, lined_receipts
from ingestry.adapters.postgres.url import libpq_url
from ingestry.services.ports import Receipt
from tests.backends import Database

pytestmark = pytest.mark.postgres
AT = "2026-11-01T10:00:00+00:00"


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.mark.parametrize(("ids", "by_range"), [([21, 22, 23, 24], True), ([21, 23, 24, 26], False)])
def test_a_direct_appends_receipts_come_from_its_ids_and_lines(
    db: Database, ids: list[int], by_range: bool
) -> None:
    migrate.upgrade(db.engine)
    lines: list[int | None] = [7, None, 3, 9][: len(ids)]
    run = Receipt("srn:ingestry:run:a", "bundle.gz", b"\x01" * 32)
    statement, params = lined_receipts(ids, lines, (AT, "orders.jsonl"), run)
    assert (statement == LINED_RANGE) is by_range
    assert (statement == LINED_IDS) is not by_range
    with psycopg.connect(libpq_url(db.url), autocommit=True) as conn:
        conn.execute(statement, params)
    rows = db.rows("SELECT raw_id, line, batch_id FROM raw_receipts ORDER BY id")
    assert [(r, n) for r, n, _ in rows] == list(zip(ids, lines, strict=True))
    batches = db.rows(
        "SELECT id, run_srn, received_at = CAST(:at AS timestamptz), origin, container,"
        " container_sha256 FROM raw_receipt_batches",
        at=AT,
    )
    assert [b[1:] for b in batches] == [
        ("srn:ingestry:run:a", True, "orders.jsonl", "bundle.gz", b"\x01" * 32)
    ]
    assert {b for _, _, b in rows} == {batches[0][0]}
