"""What a small ingest imports (issue 15 item 8): the 10-line ingest into a current
SQLite database, from the CLI and from Python, loads the config, the ingest use case and
the SQLite adapter, and nothing another capability needs.

Checked by the modules a fresh interpreter holds when the ingest has run, not by time
(timings flake on a shared machine; `bench/startup.py` has them). Each name below was
loaded by this path before the composition root, the store's areas and the ports
package imported on first use. pydantic and YAML are not loaded either: the first
ingest parsed the config and left it in the validated-config cache, which the probed
ingest reads (docs/architecture.md, "Start-up" and "Validated-config cache").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.cli import run
from tests.unit.test_startup import loaded_by

TEN = "".join(
    json.dumps({"id": f"S-{i}", "created_at": "2026-11-01T10:00:00Z", "total_price": "1.50"}) + "\n"
    for i in range(10)
)

#: Libraries the small ingest must not import: the config parser's (on a cache hit),
#: migrations and SQL toolkit, the data-out
#: engines, HTTP (harvest, API), Redis, PostgreSQL, the terminal UI, worker processes.
LIBRARIES = (
    "pydantic",
    "yaml",
    "alembic",
    "sqlalchemy",
    "pyarrow",
    "duckdb",
    "httpx",
    "croniter",
    "fastapi",
    "starlette",
    "uvicorn",
    "redis",
    "psycopg",
    "rich",
    "multiprocessing",
    "shapely",
    "openpyxl",
)

#: ingestry's own modules of other capabilities (backups, query and import, events and
#: hooks, harvest, the control plane, federation, the dashboard's reads, the API).
OTHER_CAPABILITIES = (
    "ingestry.bootstrap.analytics",
    "ingestry.bootstrap.backups",
    "ingestry.bootstrap.events",
    "ingestry.bootstrap.federation",
    "ingestry.bootstrap.inference",
    "ingestry.adapters.backups",
    "ingestry.adapters.analytics",
    "ingestry.services.backups",
    "ingestry.services.bundles",
    "ingestry.services.importer",
    "ingestry.services.query_sql",
    "ingestry.services.harvest",
    "ingestry.services.control",
    "ingestry.services.jobs",
    "ingestry.services.keys",
    "ingestry.services.replay",
    "ingestry.services.retention",
    "ingestry.services.ports.analytics",
    "ingestry.services.ports.backups",
    "ingestry.services.ports.browse",
    "ingestry.services.ports.harvest",
    "ingestry.entrypoints.api",
)

#: What the ingest does need, so a probe that silently did nothing cannot pass.
NEEDED = (
    "ingestry.config",
    "ingestry.services.ingest",
    "ingestry.adapters.sqlite.storage",
    "ingestry.store.ingest",
)

PYTHON_PROBE = """
import sys
import ingestry
with ingestry.open({config!r}) as store:
    summary = store.ingest_files("customer_orders", [{data!r}])
assert summary.received == 10, summary
print("\\n".join(sorted(sys.modules)))
"""


def current_project(local_project: Path) -> tuple[Path, Path]:
    """The project's config and a 10-line file, its database migrated by a first ingest."""
    data = local_project / "ten.jsonl"
    data.write_text(TEN, encoding="utf-8")
    first = run("ingest", "customer_orders", str(data), "--json", cwd=local_project)
    assert first.returncode == 0, first.stderr
    return local_project / "ingestry.yaml", data


def unwanted(modules: set[str]) -> list[str]:
    """The libraries and modules of other capabilities among `modules`."""
    return [m for m in (*LIBRARIES, *OTHER_CAPABILITIES) if m in modules]


def test_the_cli_ingest_of_ten_lines_loads_only_what_it_runs(local_project: Path) -> None:
    config, data = current_project(local_project)
    modules = loaded_by([["--config", str(config), "ingest", "customer_orders", str(data)]])
    assert [m for m in NEEDED if m not in modules] == []
    assert unwanted(modules) == []


def test_the_python_ingest_of_ten_lines_loads_only_what_it_runs(local_project: Path) -> None:
    config, data = current_project(local_project)
    probe = PYTHON_PROBE.format(config=str(config), data=str(data))
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(proc.stdout.split())
    assert [m for m in NEEDED if m not in modules] == []
    assert unwanted(modules) == []
