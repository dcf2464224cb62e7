"""PostgreSQL: a direct append's receipts from the lines in hand (`receipts.lined_receipts`,
branch pgserver): the batch row once, then the receipts as spans in row order (a row per
run of consecutive ids on consecutive lines, cut at multiples of 256); read back one per
row, they are the rows `written_receipts` writes by reading the new rows back."""

from __future__ import annotations

import psycopg
import pytest

from ingestry.adapters import migrate
from ingestry.adapters.postgres.receipts import lined_receipts
from ingestry.adapters.postgres.url import libpq_url
from ingestry.services.ports import Receipt
from tests.backends import Database
from tests.integration.receipts_support import RECEIPTS

pytestmark = pytest.mark.postgres
AT = "2026-11-01T10:00:00+00:00"


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.mark.parametrize(
    ("ids", "lines", "spans"),
    [
        ([21, 22, 23, 24], [7, None, 3, 9], [(21, 7, 1), (22, None, 1), (23, 3, 1), (24, 9, 1)]),
        ([21, 23, 24, 26], [1, 2, 3, 4], [(21, 1, 1), (23, 2, 2), (26, 4, 1)]),
        ([254, 255, 256, 257, 258], [1, 2, 3, 4, 5], [(254, 1, 2), (256, 3, 3)]),
        ([30, 31, 32], [None, None, None], [(30, None, 3)]),
    ],
)
def test_a_direct_appends_receipts_come_from_its_ids_and_lines(
    db: Database,
    ids: list[int],
    lines: list[int | None],
    spans: list[tuple[int, int | None, int]],
) -> None:
    migrate.upgrade(db.engine)
    run = Receipt("srn:ingestry:run:a", "bundle.gz", b"\x01" * 32)
    statement, params = lined_receipts(ids, lines, (AT, "orders.jsonl"), run)
    with psycopg.connect(libpq_url(db.url), autocommit=True) as conn:
        conn.execute(statement, params)
    assert db.rows("SELECT raw_id, line, span FROM raw_receipts ORDER BY id") == spans
    rows = db.rows(f"SELECT raw_id, line, batch_id FROM {RECEIPTS} r ORDER BY id, k")
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
