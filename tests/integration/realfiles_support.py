"""A project per test with one source configured for a messy file (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE


def project_with(
    root: Path,
    db: Database,
    source: dict[str, Any],
    columns: dict[str, Any],
    *,
    name: str = "messy",
) -> Path:
    """ingestry.yaml with one convention `thing` and one source `name` (raw unless the
    source says otherwise) on `db`; returns the config's path."""
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    (root / "data").mkdir(parents=True, exist_ok=True)
    config = {
        "database": url,
        "conventions": {"thing": {"columns": columns}},
        "sources": {
            name: {
                "strategy": "raw",
                "convention": "thing",
                "rationale": "a file from outside, kept as received",
                **source,
            }
        },
    }
    path = root / "ingestry.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
