"""The backend registry: every backend is one entry, and everything finds it there."""

from __future__ import annotations

import pytest

from ingestry.adapters.backends import (
    BACKENDS,
    Backend,
    BackendAdapter,
    backend_for,
    supported_urls,
)
from tests.backends import SCRATCH, SERVERS


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sqlite:///data/x.db", "sqlite"),
        ("postgresql://u@h/db", "postgres"),
        ("postgres://u@h/db", "postgres"),
        ("postgresql+psycopg://u@h/db", "postgres"),
        ("mysql://h/db", None),
        ("sqlite://relative-without-third-slash", None),
    ],
)
def test_a_url_names_its_backend(url: str, name: str | None) -> None:
    found = backend_for(url)
    assert (found.name if found else None) == name


def test_names_and_schemes_are_unique() -> None:
    names = [b.name for b in BACKENDS]
    schemes = [s for b in BACKENDS for s in b.schemes]
    assert len(set(names)) == len(names)
    assert len(set(schemes)) == len(schemes)
    assert supported_urls() == "sqlite:///PATH or postgresql://USER@HOST/DB"


@pytest.mark.parametrize("entry", BACKENDS, ids=lambda b: b.name)
def test_every_backend_package_exports_its_adapter(entry: Backend) -> None:
    adapter: BackendAdapter = entry.load()
    for name in ("open_storage", "control_engine", "sqlalchemy_url"):
        assert callable(getattr(adapter, name)), f"{entry.package}.ADAPTER.{name}"
    assert adapter.default_lanes >= 1
    if entry.single_writer:
        assert adapter.default_lanes == 1


@pytest.mark.parametrize("entry", BACKENDS, ids=lambda b: b.name)
def test_every_backend_runs_the_storage_tests(entry: Backend) -> None:
    """The `backend` fixture comes from the registry; a new backend also needs a way
    to make a fresh database for a test (and a server to find, unless it is a file)."""
    assert entry.name in SCRATCH, "tests/backends.py: SCRATCH"
    if entry.file_prefix is None:
        assert entry.name in SERVERS, "tests/backends.py: SERVERS"
