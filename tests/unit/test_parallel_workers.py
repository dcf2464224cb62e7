"""How many worker processes each kind of work forks by default (`adapters.parallel`):
a file ingest's preparation leaves a core to the writer; an import's parsing, the heavier
half of an import, takes a worker per core (bench/README.md, "SQLite import at 1M")."""

from __future__ import annotations

import pytest

from ingestry.adapters.parallel import default_parse_workers, default_workers
from ingestry.bootstrap.storage import build_block_map


@pytest.mark.parametrize(
    ("cores", "prepare", "parse"), [(1, 0, 0), (2, 1, 2), (3, 2, 2), (8, 2, 2)]
)
def test_default_workers_by_cores(cores: int, prepare: int, parse: int) -> None:
    assert default_workers(cores) == prepare
    assert default_parse_workers(cores) == parse


def test_workers_setting_wins_for_imports() -> None:
    assert build_block_map({"INGESTRY_WORKERS": "0"}) is None
    parse = build_block_map({"INGESTRY_WORKERS": "3"})
    assert parse is not None
    assert parse.__self__.workers == 3  # type: ignore[attr-defined]
