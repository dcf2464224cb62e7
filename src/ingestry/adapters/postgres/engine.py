"""The control plane's pooled SQLAlchemy engine on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from ingestry.adapters.postgres.url import sqlalchemy_url


def control_engine(url: str) -> sa.Engine:
    """Pooled, pre-pinged (a server restart must not fail the next request)."""
    return sa.create_engine(
        sqlalchemy_url(url),
        pool_size=8,
        max_overflow=8,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "application_name": "ingestry-control"},
    )
