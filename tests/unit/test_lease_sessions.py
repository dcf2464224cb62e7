"""The application_name a job worker's PostgreSQL data sessions carry (so the worker
taking over its expired lease can end them: docs/reliability.md)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ingestry.adapters.sql.jobs import lease_session_name
from ingestry.bootstrap import lease_owner_settings
from ingestry.config import load_settings
from tests.conftest import write_project


@given(st.text(min_size=1, max_size=300))
def test_names_fit_postgres_and_differ_per_worker(worker: str) -> None:
    name = lease_session_name(worker)
    assert len(name.encode()) <= 63 and name.isascii() and name.isprintable()
    assert lease_session_name(worker + "x") != name


def test_a_short_worker_id_is_readable() -> None:
    assert lease_session_name("host:12:0") == "ingestry-lease:host:12:0"


def test_only_postgres_urls_get_the_name(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/postgres?options=-csearch_path%3Dt_x"
    settings = load_settings(write_project(tmp_path, url) / "ingestry.yaml")
    named = lease_owner_settings(settings, "h o:1:0").database_url
    assert named == (
        "postgresql://postgres@127.0.0.1:5432/postgres?options=-csearch_path%3Dt_x"
        "&application_name=ingestry-lease%3Ah%20o%3A1%3A0"
    )
    (tmp_path / "s").mkdir()
    sqlite = load_settings(write_project(tmp_path / "s") / "ingestry.yaml")
    assert lease_owner_settings(sqlite, "h:1:0") is sqlite
