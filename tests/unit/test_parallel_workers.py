"""How many worker processes each kind of work forks by default (`adapters.parallel`):
a file ingest's preparation takes a worker per core beside SQLite and leaves a core to
a database server (bench/README.md, "The preparation worker as the critical path"); an
import's parsing, the heavier half of an import, takes a worker per core
(bench/README.md, "SQLite import at 1M")."""

from __future__ import annotations

import pytest

from ingestry.adapters.parallel import default_parse_workers, default_workers
from ingestry.bootstrap.storage import build_block_map, build_parallel


@pytest.mark.parametrize(
    ("cores", "prepare", "embedded", "parse"),
    [(1, 0, 0, 0), (2, 1, 2, 2), (3, 2, 2, 2), (8, 2, 2, 2)],
)
def test_default_workers_by_cores(cores: int, prepare: int, embedded: int, parse: int) -> None:
    assert default_workers(cores) == prepare
    assert default_workers(cores, server=False) == embedded
    assert default_parse_workers(cores) == parse


@pytest.mark.parametrize(
    ("url", "server"),
    [("sqlite:///x.db", False), ("postgresql://u@h/db", True), (None, True)],
)
def test_preparation_workers_by_backend(url: str | None, server: bool) -> None:
    made = build_parallel({}, url)
    want = default_workers(server=server)
    assert (made.workers if made is not None else 0) == want  # type: ignore[attr-defined]
    assert build_parallel({"INGESTRY_WORKERS": "0"}, url) is None


def test_workers_setting_wins_for_imports() -> None:
    assert build_block_map({"INGESTRY_WORKERS": "0"}) is None
    parse = build_block_map({"INGESTRY_WORKERS": "3"})
    assert parse is not None
    assert parse.__self__.workers == 3  # type: ignore[attr-defined]
