"""PostgreSQL URLs: what users write, what libpq and SQLAlchemy each need.

Users may write `postgresql://`, `postgres://` or SQLAlchemy's `postgresql+psycopg://`;
libpq takes the first two, SQLAlchemy needs the driver spelled out. Query parameters
(`sslmode`, `options=-csearch_path%3D…`) pass through to both unchanged.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: The other spellings the registry takes, rewritten to `postgresql://`.
ALIASES = ("postgres://", "postgresql+psycopg://")


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg.connect) accepts it."""
    for scheme in ALIASES:
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    return url


def sqlalchemy_url(url: str) -> str:
    """The URL as SQLAlchemy accepts it, with the psycopg 3 driver."""
    return "postgresql+psycopg://" + libpq_url(url)[len("postgresql://") :]


def redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(libpq_url(url))
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
