"""Start-up of a small ingest: on a database at the schema head, the CLI checks the
revision with the bare driver and writes through sqlite3, so it never loads Alembic or
SQLAlchemy (the config parser, pydantic, is the one heavy library it needs)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.cli import run
from tests.unit.test_startup import loaded_by

TEN = "".join(
    json.dumps({"id": f"S-{i}", "created_at": "2026-11-01T10:00:00Z", "total_price": "1.50"}) + "\n"
    for i in range(10)
)


def test_a_small_ingest_on_a_current_database_loads_no_sql_toolkit(local_project: Path) -> None:
    data = local_project / "ten.jsonl"
    data.write_text(TEN, encoding="utf-8")
    first = run("ingest", "customer_orders", str(data), "--json", cwd=local_project)
    assert first.returncode == 0, first.stderr  # an empty database: migrated (Alembic)
    config = str(local_project / "ingestry.yaml")
    argv = ["--config", config, "ingest", "customer_orders", str(data), "--json"]
    modules = loaded_by([argv])
    assert "ingestry.adapters.sqlite.storage" in modules
    assert [m for m in ("alembic", "sqlalchemy", "rich", "multiprocessing") if m in modules] == []
